"""Self-critical decoding on the model's decoder: masks, greedy rows."""

import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.ops import decoder as decoder_lib
from im2txt.ops import sampled_decoding
from tests import testing_utils

VOCAB, UNITS, END = 7, 8, 1


class SelfCriticalDecoderTest(unittest.TestCase):

  def _graph(self, batch=4, length=5):
    g = tf.Graph()
    with g.as_default():
      tf.set_random_seed(3)
      config = testing_utils.tiny_model_config(
          vocab_size=VOCAB, embedding_size=UNITS, num_lstm_units=UNITS)
      # A training decoder: the decoding must still run without dropout.
      decoder = decoder_lib.Decoder(config, is_training=True)
      image = np.random.RandomState(0).randn(batch, UNITS)
      state = decoder.initial_state(tf.constant(image, tf.float32),
                                    dropout=False)
      decoded = sampled_decoding.sample_and_greedy(
          decoder, state, start_id=0, end_id=END, max_length=length, seed=5)
      advantage = tf.constant([1.0, -1.0, 0.5, 0.0])
      loss = sampled_decoding.policy_gradient_loss(decoded, advantage)
      grads = tf.gradients(loss, [decoder.embedding_map])
    return g, decoded, loss, grads

  def testShapesMasksAndGradients(self):
    g, decoded, loss, grads = self._graph()
    with tf.Session(graph=g) as sess:
      sess.run(tf.global_variables_initializer())
      out, value, grad = sess.run([decoded, loss, grads])
    self.assertEqual(out.sample_ids.shape, (4, 5))
    self.assertEqual(out.greedy_ids.shape, (4, 5))
    for ids, mask in ((out.sample_ids, out.sample_mask),
                      (out.greedy_ids, out.greedy_mask)):
      for row, m in zip(ids, mask):
        ends = list(np.where(row == END)[0])
        n = ends[0] + 1 if ends else len(row)
        self.assertEqual(list(m), [1.0] * n + [0.0] * (len(row) - n))
    self.assertTrue((out.sample_logprobs <= 0).all())
    self.assertTrue(np.isfinite(value))
    self.assertTrue(np.abs(grad[0].values if hasattr(grad[0], "values")
                           else grad[0]).sum() > 0)

  def testGreedyRowsAreDeterministic(self):
    g, decoded, _, _ = self._graph()
    with tf.Session(graph=g) as sess:
      sess.run(tf.global_variables_initializer())
      first = sess.run(decoded.greedy_ids)
      second = sess.run(decoded.greedy_ids)
    np.testing.assert_array_equal(first, second)


if __name__ == "__main__":
  unittest.main()
