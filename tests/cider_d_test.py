"""CIDEr-D rewards agree with pycocoevalcap's CIDEr(-D) on the same data."""

import random
import unittest

from pycocoevalcap.cider import cider_scorer

from im2txt.evaluation import cider_d

WORDS = ("a man woman dog cat riding sitting on the of wave surfboard grass "
         "red blue small large next to in with").split()


def _caption(rng, low=3, high=12):
  return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _pycocoevalcap(candidates, references, image_ids):
  scorer = cider_scorer.CiderScorer(n=4, sigma=6.0)
  for image_id, candidate in zip(image_ids, candidates):
    scorer += (candidate, references[image_id])
  _, scores = scorer.compute_score()
  return list(scores)


class CiderDTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    rng = random.Random(0)
    self.references = {i: [_caption(rng) for _ in range(5)]
                       for i in range(40)}
    self.ids = sorted(self.references)
    self.samples = [_caption(rng) for _ in self.ids]
    self.greedy = [_caption(rng, 2, 6) for _ in self.ids]

  def testAgreesWithPycocoevalcapOnTheCorpus(self):
    scorer = cider_d.CiderD(self.references)
    for candidates in (self.samples, self.greedy,
                       [r[0] for r in self.references.values()]):
      want = _pycocoevalcap(candidates, self.references, self.ids)
      got = scorer.scores(self.ids, candidates)
      for g, w in zip(got, want):
        self.assertAlmostEqual(g, w, places=9)
    self.assertGreater(max(want), 1.0)

  def testRewardIsTheDifferenceOfTheTwoScores(self):
    scorer = cider_d.CiderD(self.references)
    sample = _pycocoevalcap(self.samples, self.references, self.ids)
    greedy = _pycocoevalcap(self.greedy, self.references, self.ids)
    rewards = [s - g for s, g in zip(scorer.scores(self.ids, self.samples),
                                     scorer.scores(self.ids, self.greedy))]
    for got, s, g in zip(rewards, sample, greedy):
      self.assertAlmostEqual(got, s - g, places=9)
    self.assertTrue(any(r > 0 for r in rewards))
    self.assertTrue(any(r < 0 for r in rewards))

  def testScoresDoNotDependOnTheBatch(self):
    scorer = cider_d.CiderD(self.references)
    alone = scorer.score(self.ids[3], self.samples[3])
    self.assertEqual(scorer.scores(self.ids, self.samples)[3], alone)
    self.assertEqual(scorer.score(self.ids[3], ""), 0.0)
    with self.assertRaises(KeyError):
      scorer.score(12345, "a dog")
    with self.assertRaisesRegex(ValueError, "needs a reference corpus"):
      cider_d.CiderD({})


if __name__ == "__main__":
  unittest.main()
