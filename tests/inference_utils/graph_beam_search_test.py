"""The in-graph beam search against the Python CaptionGenerator.

The fake models are caption_generator_test's transition tables: each image
has a table of next-word probabilities given the previous word. The graph
search must give the same beams (ids, log-probabilities, scores) as
beam_search on each image, for every beam size, length and normalisation.
"""

import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.inference_utils import caption_generator
from im2txt.inference_utils import graph_beam_search
from tests.inference_utils import fake_models as tables

VOCAB_SIZE = 12


def _table_matrices(table_list):
  """[num_tables, VOCAB_SIZE, VOCAB_SIZE] float32: m[t, prev, word] = p."""
  m = np.zeros([len(table_list), VOCAB_SIZE, VOCAB_SIZE], np.float32)
  for i, table in enumerate(table_list):
    for prev, row in table.items():
      for word, p in row.items():
        m[i, prev, word] = p
  return m


class GraphBeamSearchTest(unittest.TestCase):

  TABLES = tables.ImageTablesModel.TABLES
  IMAGES = [0, 1, 2, 3, 0, 2]

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.matrices = _table_matrices(cls.TABLES)

  def _graph_search(self, images, **kwargs):
    g = tf.Graph()
    with g.as_default():
      matrices = tf.constant(self.matrices)

      def step_fn(input_ids, states):
        # The state is the image's table number; it never changes.
        table = tf.cast(states[:, 0], tf.int64)
        return tf.gather_nd(matrices, tf.stack([table, input_ids], 1)), states

      initial = tf.constant([[float(i)] for i in images], tf.float32)
      out = graph_beam_search.beam_search(step_fn, initial, start_id=0,
                                          end_id=1, **kwargs)
      with tf.Session() as sess:
        return sess.run(out)

  def _python_search(self, image, **kwargs):
    # The Python search computes in the model's float32 probabilities.
    model = tables.ImageTablesModel()
    inner = model.inference_step

    def float32_step(sess, input_feed, state_feed):
      softmax, states, meta = inner(sess, input_feed, state_feed)
      return softmax.astype(np.float32), states, meta

    model.inference_step = float32_step
    generator = caption_generator.CaptionGenerator(model, tables.FakeVocab(),
                                                   **kwargs)
    return generator.beam_search(None, str(image).encode())

  def _assertSameBeams(self, images, **kwargs):
    out = self._graph_search(images, **kwargs)
    for row, image in enumerate(images):
      want = self._python_search(image, **kwargs)
      n = int(out.valid[row].sum())
      self.assertEqual(n, len(want), "image %d" % image)
      self.assertTrue(out.valid[row, :n].all())
      self.assertEqual(bool(out.complete[row]),
                       bool(want) and want[0].sentence[-1] == 1)
      for j, caption in enumerate(want):
        length = out.lengths[row, j]
        self.assertEqual(list(out.ids[row, j, :length]), caption.sentence)
        self.assertTrue(
            (out.ids[row, j, length:] == graph_beam_search.PAD_ID).all())
        self.assertAlmostEqual(out.logprobs[row, j], caption.logprob,
                               places=12)
        self.assertAlmostEqual(out.scores[row, j], caption.score, places=12)
      self.assertTrue(np.isneginf(out.logprobs[row, n:]).all())
      self.assertTrue((out.lengths[row, n:] == 0).all())

  def testSameBeamsAsPythonSearch(self):
    for beam_size in (1, 2, 3, 4):
      for max_caption_length in (1, 2, 3, 5, 20):
        for factor in (0.0, 0.5, 1.0):
          with self.subTest(beam_size=beam_size, max_len=max_caption_length,
                            factor=factor):
            self._assertSameBeams(self.IMAGES, beam_size=beam_size,
                                  max_caption_length=max_caption_length,
                                  length_normalization_factor=factor)

  def testOriginalTableCaptions(self):
    # caption_generator_test.testBeamSize3, in the graph.
    out = self._graph_search([0], beam_size=3, max_caption_length=20)
    self.assertEqual([list(out.ids[0, j, :out.lengths[0, j]])
                      for j in range(3)],
                     [[0, 2, 6, 1], [0, 4, 10, 1], [0, 3, 8, 1]])
    np.testing.assert_allclose(np.exp(out.logprobs[0]), [0.18, 0.16, 0.15],
                               rtol=1e-6)

  def testNothingUsableGivesNoCaptions(self):
    # A table that gives every word probability 0: no extension is usable,
    # and the Python search returns no caption either.
    self.matrices = _table_matrices(self.TABLES + [{}])
    out = self._graph_search([4, 0], beam_size=2, max_caption_length=5)
    self.assertFalse(out.valid[0].any())
    self.assertTrue((out.lengths[0] == 0).all())
    self.assertTrue(out.valid[1].all())

  def testEmptyBatch(self):
    g = tf.Graph()
    with g.as_default():
      out = graph_beam_search.beam_search(
          lambda ids, s: (tf.one_hot(ids, VOCAB_SIZE), s),
          tf.zeros([0, 1]), 0, 1, beam_size=3, max_caption_length=4)
      with tf.Session() as sess:
        ids = sess.run(out.ids)
    self.assertEqual(ids.shape, (0, 3, 4))

  def testRejectsBadArguments(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, "beam_size"):
        graph_beam_search.beam_search(None, tf.zeros([1, 1]), 0, 1, 0, 5)
      with self.assertRaisesRegex(ValueError, "max_caption_length"):
        graph_beam_search.beam_search(None, tf.zeros([1, 1]), 0, 1, 3, 0)


if __name__ == "__main__":
  unittest.main()
