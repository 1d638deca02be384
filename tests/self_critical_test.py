"""Self-critical training's library: rewards equal pycocoevalcap's CIDEr-D
differences, the references and their cache, and the loss and update on a
real training graph."""

import collections
import glob
import json
import os
import random
import shutil
import tempfile
import unittest

import numpy as np
from pycocoevalcap.cider import cider_scorer

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_metrics
from im2txt import configuration
from im2txt.training import self_critical
from im2txt.training import builder
from im2txt.data import records
from im2txt.inference_utils import vocabulary
from im2txt.ops import model_inputs
from tests import testing_utils

WORDS = ["w%d" % i for i in range(57)]  # + <S>, </S>, <UNK>: 60 ids


def _vocab(root):
  path = os.path.join(root, "word_counts.txt")
  with open(path, "w") as f:
    for word in ["<S>", "</S>"] + WORDS:
      f.write("%s 1\n" % word)
  return vocabulary.Vocabulary(path)


def _references(rng, num_images=12):
  return {1000 + i: [" ".join(rng.choice(WORDS[:20]) for _ in range(
      rng.randint(4, 9))) for _ in range(5)] for i in range(num_images)}


def _pycocoevalcap(image_ids, captions, references):
  scorer = cider_scorer.CiderScorer(n=4, sigma=6.0)
  for image_id, caption in zip(image_ids, captions):
    scorer += (caption, references[image_id])
  return np.array(scorer.compute_score()[1])


class CaptionRewardsTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)
    self.vocab = _vocab(self.root)
    self.references = _references(random.Random(1))

  def _ids(self, rng, length=8):
    """Rows of word ids: a few words, the end word, then anything."""
    rows = []
    for _ in self.references:
      n = rng.randint(1, length - 1)
      row = [self.vocab.word_to_id(rng.choice(WORDS[:24])) for _ in range(n)]
      row += [self.vocab.end_id] + [rng.randint(0, 59)
                                    for _ in range(length - n - 1)]
      rows.append(row)
    return np.array(rows, np.int64)

  def testRewardsAreCiderDOfPycocoevalcap(self):
    rng = random.Random(2)
    image_ids = np.array(sorted(self.references), np.int64)
    sample, greedy = self._ids(rng), self._ids(rng)
    rewards = self_critical.CaptionRewards(self.references, self.vocab)
    got_sample, got_greedy = rewards(image_ids, sample, greedy)
    self.assertEqual(got_sample.dtype, np.float32)
    # pycocoevalcap on the whole corpus (one caption per image): its
    # document frequencies are then those of the references.
    texts = lambda rows: [rewards.caption(r) for r in rows]
    want_sample = _pycocoevalcap(image_ids, texts(sample), self.references)
    want_greedy = _pycocoevalcap(image_ids, texts(greedy), self.references)
    np.testing.assert_allclose(got_sample, want_sample, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_sample - got_greedy,
                               want_sample - want_greedy, rtol=1e-5,
                               atol=1e-5)
    self.assertGreater(want_sample.max(), 0.1)
    # Words after the end word do not count; the end word is not a word.
    row = sample[0]
    end = list(row).index(self.vocab.end_id)
    self.assertEqual(rewards.caption(row).split(),
                     [self.vocab.id_to_word(i) for i in row[:end]])
    # A reference caption scores highest for its image.
    perfect = rewards.scorer.score(1000, self.references[1000][0])
    self.assertGreater(perfect, max(want_sample))

  def testImageWithoutReferencesIsNamed(self):
    rewards = self_critical.CaptionRewards(self.references, self.vocab,
                                           "the records matching x")
    ids = np.array([[self.vocab.end_id]], np.int64)
    with self.assertRaisesRegex(self_critical.ReferencesError,
                                "Image 7 of a training batch has no captions "
                                "in the records matching x"):
      rewards(np.array([7], np.int64), ids, ids)


class ReferencesTest(testing_utils.TinyDataTestCase):

  def testReadFromRecordsAndCached(self):
    pattern = self.paths["train_pattern"]
    train_dir = os.path.join(self.root, "refs")
    os.makedirs(train_dir)
    references = self_critical.load_references(pattern, train_dir)
    self.assertEqual(references,
                     caption_metrics.references_from_records(pattern))
    self.assertEqual(sum(len(c) for c in references.values()), 290)
    cache = os.path.join(train_dir, self_critical.REFERENCES_FILENAME)
    saved = json.load(open(cache))
    self.assertEqual(len(saved["records"]), 2)
    # The cache is what a restart reads: a changed cache shows through.
    image_id = sorted(references)[0]
    saved["references"][str(image_id)] = ["from the cache"]
    with open(cache, "w") as f:
      json.dump(saved, f)
    self.assertEqual(self_critical.load_references(pattern, train_dir)[
        image_id], ["from the cache"])
    # A cache of other records (another size) or an unreadable one is
    # rebuilt from the records.
    saved["records"][0][1] += 1
    with open(cache, "w") as f:
      json.dump(saved, f)
    self.assertEqual(self_critical.load_references(pattern, train_dir),
                     references)
    with open(cache, "w") as f:
      f.write("{not json")
    self.assertEqual(self_critical.load_references(pattern, train_dir),
                     references)
    with self.assertRaisesRegex(self_critical.ReferencesError,
                                "needs the training records"):
      self_critical.load_references(os.path.join(self.root, "none-*"))


class ImageIdsTest(testing_utils.TinyDataTestCase):

  def testEachRowCarriesTheIdOfItsImage(self):
    """Records and cached features: a row's caption is one of the captions
    of the image its id names."""
    captions = collections.defaultdict(list)
    for path in glob.glob(self.paths["train_pattern"]):
      for record in records.read_sequence_examples(path):
        captions[record["image_id"]].append(record["caption_ids"])
    config = testing_utils.tiny_model_config(
        input_file_pattern=self.paths["train_pattern"])
    with tf.Graph().as_default():
      batch = model_inputs.read_batch(config, True, image_ids=True)
      with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        rows = 0
        for _ in range(10):
          ids, seqs, targets, mask = sess.run(
              [batch.image_ids, batch.input_seqs, batch.target_seqs,
               batch.input_mask])
          for image_id, seq, target, m in zip(ids, seqs, targets, mask):
            n = int(m.sum())
            self.assertIn(list(seq[:n]) + [int(target[n - 1])],
                          captions[int(image_id)])
            rows += 1
        coord.request_stop()
      coord.join(threads)
    self.assertEqual(rows, 10 * config.batch_size)
    # Without the option: no ids.
    with tf.Graph().as_default():
      self.assertIsNone(model_inputs.read_batch(config, True).image_ids)


class SelfCriticalGraphTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)
    self.vocab = _vocab(self.root)
    self.references = _references(random.Random(3), num_images=4)

  def _build(self, self_critical_rewards, learning_rate=0.5):
    config = testing_utils.tiny_model_config(batch_size=4)
    training_config = configuration.TrainingConfig()
    training_config.self_critical_learning_rate = learning_rate
    training_config.self_critical_max_caption_length = 7
    rng = np.random.RandomState(0)
    seqs = rng.randint(3, 40, size=[4, 6])
    seqs[:, 0] = self.vocab.start_id

    def batch(unused_index):
      return model_inputs.InputBatch(
          images=None,
          image_features=tf.constant(rng.rand(4, 2048).astype(np.float32)),
          input_seqs=tf.constant(seqs[:, :-1], tf.int64),
          target_seqs=tf.constant(seqs[:, 1:], tf.int64),
          input_mask=tf.ones([4, 5], tf.int32),
          image_ids=tf.constant(sorted(self.references), tf.int64))

    return builder.build_training_graph(
        config, training_config, train_inception=False,
        features_file_pattern="unused", clone_batches=batch,
        self_critical_rewards=self_critical_rewards)

  def testLossRewardsAndUpdate(self):
    rewards = self_critical.CaptionRewards(self.references, self.vocab)
    built = self._build(rewards)
    plain = self._build(None)
    names = lambda g: sorted((v.op.name, tuple(v.shape.as_list()))
                             for v in g.get_collection("variables"))
    # No new variables: checkpoints of phases 1 and 2 restore unchanged.
    self.assertEqual(names(built.graph), names(plain.graph))
    self.assertIsNone(plain.self_critical)
    sc = built.self_critical
    with built.graph.as_default():
      tf.set_random_seed(4)
      logits_bias = built.graph.get_tensor_by_name("logits/biases:0")
      encoder = built.graph.get_tensor_by_name(
          "InceptionV3/Conv2d_1a_3x3/weights:0")
      init = tf.global_variables_initializer()
    with tf.Session(graph=built.graph) as sess:
      sess.run(init)
      encoder0 = sess.run(encoder)
      # One run computes the samples, their rewards, the loss and the
      # update, so the values checked are the ones the update used. A step
      # whose samples all score as their greedy caption has a zero
      # advantage and changes nothing: step again (new samples) until one
      # has an advantage.
      for _ in range(20):
        bias0 = sess.run(logits_bias)
        out = sess.run({"train": built.train_op, "decoded": sc.decoded,
                        "sample": sc.sample_cider, "greedy": sc.greedy_cider,
                        "loss": sc.loss, "advantage": sc.advantage})
        bias1 = sess.run(logits_bias)
        if np.abs(out["advantage"]).max() > 0:
          break
      encoder1 = sess.run(encoder)
    self.assertGreater(np.abs(out["advantage"]).max(), 0,
                       "20 steps, every advantage zero")
    decoded = out["decoded"]
    self.assertEqual(decoded.sample_ids.shape, (4, 7))
    ids = sorted(self.references)
    np.testing.assert_allclose(out["sample"], [
        rewards.scorer.score(i, rewards.caption(r))
        for i, r in zip(ids, decoded.sample_ids)], rtol=1e-6)
    np.testing.assert_allclose(out["greedy"], [
        rewards.scorer.score(i, rewards.caption(r))
        for i, r in zip(ids, decoded.greedy_ids)], rtol=1e-6)
    np.testing.assert_allclose(out["advantage"], out["sample"] - out["greedy"])
    want = -np.sum(out["advantage"][:, None] * decoded.sample_logprobs *
                   decoded.sample_mask) / decoded.sample_mask.sum()
    self.assertAlmostEqual(out["loss"], want, places=5)
    # The decoder trains; the encoder stays frozen.
    self.assertGreater(np.abs(bias1 - bias0).max(), 0)
    np.testing.assert_array_equal(encoder0, encoder1)

  def testOwnConstantLearningRate(self):
    config = configuration.TrainingConfig()
    config.self_critical_learning_rate = 0.25
    with tf.Graph().as_default(), tf.Session() as sess:
      rate, decay = builder.learning_rate_for(config, 32, False,
                                               self_critical=True)
      self.assertIsNone(decay)
      self.assertAlmostEqual(sess.run(rate), 0.25)

  def testRewardedWordsBecomeMoreFrequent(self):
    """The policy gradient's direction: with a reward of 1 for samples that
    contain a chosen word (and a baseline of 0), training makes the
    sampled captions contain it more often."""
    word = self.vocab.word_to_id("w5")

    def has_word(image_ids, sample, greedy):
      del image_ids, greedy
      return ((sample == word).any(axis=1).astype(np.float32),
              np.zeros(len(sample), np.float32))

    has_word.vocab = self.vocab
    built = self._build(has_word, learning_rate=2.0)
    sc = built.self_critical
    with built.graph.as_default():
      init = tf.global_variables_initializer()

    def frequency(sess):
      return np.mean([sess.run(sc.sample_cider).mean() for _ in range(40)])

    with tf.Session(graph=built.graph) as sess:
      sess.run(init)
      before = frequency(sess)
      for _ in range(60):
        sess.run(built.train_op)
      after = frequency(sess)
    self.assertGreater(after, before + 0.2, (before, after))

if __name__ == "__main__":
  unittest.main()
