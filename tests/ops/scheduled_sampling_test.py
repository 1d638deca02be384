"""Scheduled sampling: the schedules, the decoder at probability 1 (exactly
teacher forcing) and 0 (its own samples after the first word)."""

import math
import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt import show_and_tell_model
from im2txt.ops import model_inputs
from im2txt.ops import scheduled_sampling
from tests import testing_utils

# A word no caption below contains, made certain by the logits' bias.
FORCED_WORD = 5


def _batch(config, batch_size=3, length=6, seed=0):
  rng = np.random.RandomState(seed)
  seqs = rng.randint(6, config.vocab_size, size=[batch_size, length + 1])
  seqs[:, 0] = 1  # the start word
  mask = np.ones([batch_size, length], np.int32)
  mask[1, 4:] = 0  # one shorter caption
  return model_inputs.InputBatch(
      images=None,
      image_features=tf.constant(rng.rand(batch_size, 2048).astype(np.float32)),
      input_seqs=tf.constant(seqs[:, :-1], tf.int64),
      target_seqs=tf.constant(seqs[:, 1:], tf.int64),
      input_mask=tf.constant(mask))


class ScheduleTest(unittest.TestCase):

  def _values(self, config, steps):
    g = tf.Graph()
    with g.as_default():
      step = tf.placeholder(tf.int32, [])
      p = scheduled_sampling.truth_probability(config, step)
      with tf.Session() as sess:
        return [float(sess.run(p, {step: s})) for s in steps]

  def testEachDecayFollowsItsFormula(self):
    config = configuration.TrainingConfig()
    config.scheduled_sampling_min_truth_probability = 0.0
    config.scheduled_sampling_start_step = 1000
    steps = [0, 1000, 5000, 480000 + 1000, 10 ** 7]
    k = config.scheduled_sampling_k
    formulas = {
        "inverse_sigmoid": lambda i: k / (k + math.exp(min(i / k, 700))),
        "linear": lambda i: max(0.0, 1 - 1e-6 * i),
        "exponential": lambda i: 0.999999 ** i,
    }
    for decay, formula in formulas.items():
      config.scheduled_sampling_decay = decay
      want = [formula(max(0, s - 1000)) for s in steps]
      got = self._values(config, steps)
      np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7,
                                 err_msg=decay)
      np.testing.assert_allclose(
          [scheduled_sampling.schedule_value(config, s) for s in steps],
          want, rtol=1e-9, atol=1e-12, err_msg=decay)
    self.assertEqual(got[0], 1.0)  # before start_step: teacher forcing

  def testFloorAndBadSettings(self):
    config = configuration.TrainingConfig()
    self.assertAlmostEqual(self._values(config, [10 ** 8])[0], 0.75, places=6)
    config.scheduled_sampling_decay = "cosine"
    with self.assertRaisesRegex(ValueError, "scheduled_sampling_decay must "
                                "be one of inverse_sigmoid, linear"):
      scheduled_sampling.check_config(config)
    config.scheduled_sampling_decay = "exponential"
    config.scheduled_sampling_exponential_base = 1.5
    with self.assertRaisesRegex(ValueError, "exponential_base"):
      scheduled_sampling.check_config(config)


class DecoderTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.config = testing_utils.tiny_model_config(lstm_dropout_keep_prob=1.0)

  def _models(self, truth_probability):
    """A teacher-forced model and a scheduled-sampling one, sharing their
    variables and batch, in one graph."""
    g = tf.Graph()
    with g.as_default():
      tf.set_random_seed(1)
      batch = _batch(self.config)
      forced = show_and_tell_model.ShowAndTellModel(
          self.config, "train", input_batch=batch)
      forced.build()
      with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        sampled = show_and_tell_model.ShowAndTellModel(
            self.config, "train", input_batch=batch,
            truth_probability_fn=lambda step: tf.constant(truth_probability))
        sampled.build()
    return g, forced, sampled, batch

  def testProbabilityOneIsTeacherForcingExactly(self):
    g, forced, sampled, _ = self._models(1.0)
    self.assertEqual(len(g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)),
                     len(set(v.op.name for v in g.get_collection(
                         tf.GraphKeys.GLOBAL_VARIABLES))))
    with tf.Session(graph=g) as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(3):
        a, b, losses_a, losses_b, fed, seqs = sess.run([
            forced.total_loss, sampled.total_loss,
            forced.target_cross_entropy_losses,
            sampled.target_cross_entropy_losses, sampled.decoder_inputs,
            forced.input_seqs])
        self.assertEqual(a, b)
        weights = sess.run(forced.target_cross_entropy_loss_weights)
        np.testing.assert_array_equal(losses_a[weights > 0],
                                      losses_b[weights > 0])
        np.testing.assert_array_equal(fed, seqs)

  def testProbabilityZeroFeedsTheModelsOwnSamples(self):
    g, _, sampled, _ = self._models(0.0)
    with g.as_default():
      with tf.variable_scope("logits", reuse=True):
        biases = tf.get_variable("biases")
      # The softmax puts all its mass on FORCED_WORD: every sample is it.
      force = biases.assign(
          100.0 * tf.one_hot(FORCED_WORD, self.config.vocab_size))
    with tf.Session(graph=g) as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(force)
      fed, seqs = sess.run([sampled.decoder_inputs, sampled.input_seqs])
    np.testing.assert_array_equal(fed[:, 0], seqs[:, 0])
    self.assertTrue((fed[:, 1:] == FORCED_WORD).all(), fed)
    self.assertFalse((seqs[:, 1:] == FORCED_WORD).any())

  def testSummaryAndModes(self):
    g = tf.Graph()
    with g.as_default():
      config = configuration.TrainingConfig()
      model = show_and_tell_model.ShowAndTellModel(
          self.config, "train", input_batch=_batch(self.config),
          truth_probability_fn=lambda step: scheduled_sampling.
          truth_probability(config, step))
      model.build()
      summaries = [t.op.name for t in tf.get_collection(
          tf.GraphKeys.SUMMARIES)]
    self.assertIn("scheduled_sampling/truth_probability", summaries)
    self.assertEqual(model.truth_probability.dtype, tf.float32)
    with self.assertRaisesRegex(ValueError, "Scheduled sampling is for"):
      show_and_tell_model.ShowAndTellModel(
          self.config, "eval", truth_probability_fn=lambda s: 1.0)


if __name__ == "__main__":
  unittest.main()
