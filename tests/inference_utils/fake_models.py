"""Fake caption models with hand-computed next-word probability tables.

Shared by the Python beam search tests (caption_generator_test) and the
in-graph search tests (graph_beam_search_test), so both check the same
cases.
"""

import numpy as np


class FakeVocab(object):
  def __init__(self):
    self.start_id = 0
    self.end_id = 1


class FakeModel(object):
  """Next-word probabilities depend only on the previous word."""
  # pylint: disable=unused-argument  (the protocol fixes the arguments)

  def __init__(self, table, vocab_size=12):
    self._vocab_size = vocab_size
    self._table = table
    self.steps = 0

  def feed_image(self, sess, encoded_image):
    return np.zeros([1, 1])

  def inference_step(self, sess, input_feed, state_feed):
    self.steps += 1
    batch = len(input_feed)
    softmax = np.zeros([batch, self._vocab_size])
    for i, prev in enumerate(input_feed):
      for word, p in self._table.get(int(prev), {}).items():
        softmax[i, word] = p
    return softmax, np.zeros([batch, 1]), None


# The original im2txt test's table.
TABLE = {
    0: {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4},
    2: {5: 0.1, 6: 0.9},
    3: {1: 0.1, 7: 0.4, 8: 0.5},
    4: {1: 0.3, 9: 0.3, 10: 0.4},
    5: {1: 1.0}, 6: {1: 1.0}, 7: {1: 1.0}, 8: {1: 1.0}, 10: {1: 1.0},
    11: {1: 1.0},
    9: {1: 0.5, 11: 0.5},
}

# A table where length normalisation changes the winner:
#   [0 1] 0.35 (length 2), [0 2 1] 0.26 (3), [0 2 3 1] 0.312 (4),
#   [0 2 3 4 1] 0.078 (5).
NORM_TABLE = {
    0: {1: 0.35, 2: 0.65},
    2: {3: 0.6, 1: 0.4},
    3: {1: 0.8, 4: 0.2},
    4: {1: 1.0},
}


class ImageTablesModel(object):
  """Each "image" (b"0", b"1", ...) has its own table; the state carries it."""
  # pylint: disable=unused-argument  (the protocol fixes the arguments)

  TABLES = [TABLE, NORM_TABLE, {0: {1: 0.9, 3: 0.1}, 3: {1: 1.0}},
            {0: {2: 0.5, 3: 0.5}, 2: {2: 0.7, 1: 0.3}, 3: {3: 0.6, 1: 0.4}}]

  def __init__(self, batched=True):
    self.steps = 0
    self.batch_sizes = []
    if batched:
      self.feed_images = self._feed_images

  def feed_image(self, sess, encoded_image):
    return np.array([[float(encoded_image.decode())]])

  def _feed_images(self, sess, encoded_images):
    return np.array([[float(e.decode())] for e in encoded_images])

  def inference_step(self, sess, input_feed, state_feed):
    self.steps += 1
    self.batch_sizes.append(len(input_feed))
    softmax = np.zeros([len(input_feed), 12])
    for i, (prev, state) in enumerate(zip(input_feed, state_feed)):
      for word, p in self.TABLES[int(state[0])].get(int(prev), {}).items():
        softmax[i, word] = p
    return softmax, np.array(state_feed), None
