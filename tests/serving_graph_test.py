"""Tests of the serving graph's image path on empty and partial batches."""

import os
import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf
from tensorflow.python.util import _pywrap_util_port

from im2txt import serving_graph
from im2txt import show_and_tell_model
from tests import testing_utils


class EncodeImagesOfTest(unittest.TestCase):

  def testAnyRowsIncludingNoneUnderTheDefaultKernels(self):
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1":
      # The case that failed: oneDNN convolutions on a batch of 0 images.
      self.assertTrue(_pywrap_util_port.IsMklEnabled())
    config = testing_utils.tiny_model_config()
    units = config.num_lstm_units
    rng = np.random.RandomState(0)
    batch = rng.uniform(-1, 1, [3, config.image_height, config.image_width,
                                3]).astype(np.float32)
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(config, mode="inference")
      model.build()
      images = tf.placeholder(tf.float32, [None, config.image_height,
                                           config.image_width, 3])
      rows = tf.placeholder(tf.int32, [None])
      selected = serving_graph.encode_images_of(model, images, rows)
      whole = serving_graph.encode_images(model, images)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expected = sess.run(whole, {images: batch})
        self.assertEqual(expected.shape, (3, 2 * units))
        for chosen in ([], [1], [2, 0], [0, 1, 2]):
          got = sess.run(selected, {images: batch, rows: chosen})
          self.assertEqual(got.shape, (len(chosen), 2 * units))
          np.testing.assert_allclose(got, expected[chosen], atol=1e-5)
        # No image at all in the request.
        got = sess.run(selected, {images: batch[:0], rows: []})
        self.assertEqual(got.shape, (0, 2 * units))


if __name__ == "__main__":
  unittest.main()
