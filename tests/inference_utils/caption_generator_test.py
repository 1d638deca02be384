"""Beam search against fake models with hand-computed probability tables.

These tests fail on the March 2019 upstream regression (a top-k that keeps
every word except the k most probable), which broke im2txt unnoticed.
"""

import math
import unittest

import numpy as np

from im2txt.inference_utils import caption_generator
from tests.inference_utils import fake_models

# The fake models live in fake_models (graph_beam_search_test uses them too).
FakeModel = fake_models.FakeModel
FakeVocab = fake_models.FakeVocab
ImageTablesModel = fake_models.ImageTablesModel
NORM_TABLE = fake_models.NORM_TABLE
TABLE = fake_models.TABLE


class CaptionGeneratorTest(unittest.TestCase):

  def _search(self, table=None, **kwargs):
    table = TABLE if table is None else table
    generator = caption_generator.CaptionGenerator(
        model=FakeModel(table), vocab=FakeVocab(), **kwargs)
    return generator.beam_search(None, b"")

  def _assertCaptions(self, captions, expected):
    """expected: list of (sentence, probability), best first."""
    self.assertEqual([c.sentence for c in captions], [s for s, _ in expected])
    for caption, (_, p) in zip(captions, expected):
      self.assertAlmostEqual(caption.logprob, math.log(p), places=6)

  def testBeamSize3(self):
    # Step 1 keeps [0 4] .4, [0 3] .3, [0 2] .2. Step 2 completes [0 4 1]
    # (.12) and [0 3 1] (.03) and keeps the partials [0 2 6] .18,
    # [0 4 10] .16, [0 3 8] .15. Step 3 completes those three, which push
    # both earlier complete captions out of the top 3.
    self._assertCaptions(self._search(beam_size=3), [
        ([0, 2, 6, 1], 0.18), ([0, 4, 10, 1], 0.16), ([0, 3, 8, 1], 0.15)])

  def testBeamSize2(self):
    # [0 4] picks 10 then 1 (1 and 9 tie at .3; the lower id wins).
    self._assertCaptions(self._search(beam_size=2), [
        ([0, 4, 10, 1], 0.16), ([0, 3, 8, 1], 0.15)])

  def testBeamSize1IsGreedy(self):
    self._assertCaptions(self._search(beam_size=1), [([0, 4, 10, 1], 0.16)])

  def testTopWordsKeepsTheMostProbable(self):
    generator = caption_generator.CaptionGenerator(FakeModel(TABLE),
                                                   FakeVocab(), beam_size=3)
    probs = np.array([0.05, 0.3, 0.1, 0.3, 0.25])
    # Descending probability, ties by lower id.
    self.assertEqual(list(generator.top_words(probs)), [1, 3, 4])

  def testTopWordsOfRowsEqualTheFullStableSort(self):
    # A vocabulary large enough for the partition path, with many ties
    # (probabilities drawn from few values), ties at the k-th place, an
    # all-equal row, NaN and negative zero.
    rng = np.random.default_rng(3)
    rows = rng.choice([0.0, 1e-13, 0.001, 0.002, 0.5], size=(40, 3000))
    rows = rows.astype(np.float32)
    rows[0] = 0.25
    rows[1, [5, 17, 900]] = 0.7  # three equal maxima
    rows[2, [7, 8]] = np.nan
    rows[3, :] = -0.0
    rows[3, 2999] = 0.0
    rows[4, 100:200] = 0.9  # a tie far wider than k
    for beam_size in (1, 3, 7):
      generator = caption_generator.CaptionGenerator(
          FakeModel(TABLE), FakeVocab(), beam_size=beam_size)
      expected = np.argsort(-rows, axis=1, kind="stable")[:, :beam_size]
      np.testing.assert_array_equal(generator.top_words_rows(rows), expected)
      for row, want in zip(rows, expected):
        np.testing.assert_array_equal(generator.top_words(row), want)

  def testNoCaptionCompletesReturnsPartials(self):
    # One step only: nothing reaches </S>, so the partial captions come back.
    self._assertCaptions(self._search(beam_size=3, max_caption_length=2), [
        ([0, 4], 0.4), ([0, 3], 0.3), ([0, 2], 0.2)])

  def testCompleteCaptionsAreNeverMixedWithPartials(self):
    # Two steps: [0 4 1] and [0 3 1] complete while better partials exist.
    self._assertCaptions(self._search(beam_size=3, max_caption_length=3), [
        ([0, 4, 1], 0.12), ([0, 3, 1], 0.03)])

  def testWithoutLengthNormalization(self):
    self._assertCaptions(self._search(table=NORM_TABLE, beam_size=2), [
        ([0, 1], 0.35), ([0, 2, 3, 1], 0.312)])

  def testLengthNormalization(self):
    captions = self._search(table=NORM_TABLE, beam_size=2,
                            length_normalization_factor=1.0)
    # Scores: ln(.312)/4 = -0.291 beats ln(.26)/3 = -0.449, ln(.078)/5 =
    # -0.510 and ln(.35)/2 = -0.525.
    self._assertCaptions(captions, [([0, 2, 3, 1], 0.312), ([0, 2, 1], 0.26)])
    self.assertAlmostEqual(captions[0].score, math.log(0.312) / 4, places=6)
    self.assertAlmostEqual(captions[1].score, math.log(0.26) / 3, places=6)

  def testLengthNormalizationWithFactorHalf(self):
    captions = self._search(table=NORM_TABLE, beam_size=3,
                            length_normalization_factor=0.5)
    expected = sorted(
        [([0, 1], 0.35), ([0, 2, 1], 0.26), ([0, 2, 3, 1], 0.312),
         ([0, 2, 3, 4, 1], 0.078)],
        key=lambda x: -math.log(x[1]) / math.sqrt(len(x[0])))[:3]
    self._assertCaptions(captions, expected)

  def testRejectsBadArguments(self):
    with self.assertRaisesRegex(ValueError, "beam_size"):
      caption_generator.CaptionGenerator(FakeModel(TABLE), FakeVocab(),
                                         beam_size=0)
    with self.assertRaisesRegex(ValueError, "max_caption_length"):
      caption_generator.CaptionGenerator(FakeModel(TABLE), FakeVocab(),
                                         max_caption_length=0)


class BatchedBeamSearchTest(unittest.TestCase):

  IMAGES = [b"0", b"1", b"2", b"3", b"0", b"2"]

  def _compare(self, batched_model=True, **kwargs):
    single_model = ImageTablesModel()
    single = caption_generator.CaptionGenerator(single_model, FakeVocab(),
                                                **kwargs)
    expected = [single.beam_search(None, e) for e in self.IMAGES]
    batch_model = ImageTablesModel(batched=batched_model)
    batched = caption_generator.CaptionGenerator(batch_model, FakeVocab(),
                                                 **kwargs)
    got = batched.beam_search_batch(None, self.IMAGES)
    self.assertEqual(len(got), len(expected))
    for want, have in zip(expected, got):
      self.assertEqual([(c.sentence, c.logprob, c.score) for c in want],
                       [(c.sentence, c.logprob, c.score) for c in have])
    return single_model, batch_model, got

  def testEqualsPerImageSearch(self):
    for beam_size in (1, 2, 3, 4):
      for max_caption_length in (1, 2, 3, 5, 20):
        for factor in (0.0, 0.5, 1.0):
          with self.subTest(beam_size=beam_size, max_len=max_caption_length,
                            factor=factor):
            self._compare(beam_size=beam_size,
                          max_caption_length=max_caption_length,
                          length_normalization_factor=factor)

  def testOneModelCallPerStepForAllImages(self):
    single_model, batch_model, got = self._compare(beam_size=3)
    # Batched: as many model calls as the longest single search, each call
    # carrying every live beam of every image.
    steps = []
    for image in self.IMAGES:
      model = ImageTablesModel()
      caption_generator.CaptionGenerator(model, FakeVocab(),
                                         beam_size=3).beam_search(None, image)
      steps.append(model.steps)
    self.assertEqual(batch_model.steps, max(steps))
    self.assertEqual(single_model.steps, sum(steps))
    self.assertLess(batch_model.steps, single_model.steps)
    self.assertEqual(batch_model.batch_sizes[0], len(self.IMAGES))
    self.assertEqual(sum(batch_model.batch_sizes),
                     sum(single_model.batch_sizes))
    # The images' own results: table 2 ends at once with [0 1].
    self.assertEqual(got[2][0].sentence, [0, 1])
    self.assertEqual(got[0][0].sentence, [0, 2, 6, 1])

  def testModelWithoutBatchFeedAndEmptyInput(self):
    self._compare(batched_model=False, beam_size=2)
    generator = caption_generator.CaptionGenerator(ImageTablesModel(),
                                                   FakeVocab())
    self.assertEqual(generator.beam_search_batch(None, []), [])


class TopNTest(unittest.TestCase):

  def testKeepsLargest(self):
    top = caption_generator.TopN(3)
    for x in [5, 1, 9, 3, 7, 2]:
      top.push(x)
    self.assertEqual(top.size(), 3)
    self.assertEqual(top.extract(sort=True), [9, 7, 5])
    top.reset()
    self.assertEqual(top.size(), 0)

  def testCaptionOrdering(self):
    a = caption_generator.Caption([0], None, -1.0, -1.0)
    b = caption_generator.Caption([0, 1], None, -2.0, -0.5)
    self.assertLess(a, b)
    self.assertEqual(a, caption_generator.Caption([5], None, -3.0, -1.0))


if __name__ == "__main__":
  unittest.main()
