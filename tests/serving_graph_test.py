"""Tests of the serving graph's image path on empty and partial batches."""

import os
import subprocess
import sys
import unittest

import numpy as np

from tests import testing_utils


def check_encode_images_of():
  """encode_images_of on no, some, reordered and all rows, and on an empty
  request, equals the encoder on those images (AssertionError if not)."""
  # Imported here: the kernels are chosen when TensorFlow is first imported.
  from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import,g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from im2txt.serving import caption_graph  # pylint: disable=g-import-not-at-top
  from im2txt import show_and_tell_model  # pylint: disable=g-import-not-at-top
  # A small initializer keeps the LSTM out of saturation, so that the three
  # images give clearly different states (with the default scale they are
  # all +-1 and two rows can be equal); the seed makes the weights fixed.
  config = testing_utils.tiny_model_config(initializer_scale=0.001)
  units = config.num_lstm_units
  rng = np.random.RandomState(0)
  batch = rng.uniform(-1, 1, [3, config.image_height, config.image_width,
                              3]).astype(np.float32)
  with tf.Graph().as_default():
    tf.set_random_seed(1234)
    model = show_and_tell_model.ShowAndTellModel(config, mode="inference")
    model.build()
    images = tf.placeholder(tf.float32, [None, config.image_height,
                                         config.image_width, 3])
    rows = tf.placeholder(tf.int32, [None])
    selected = caption_graph.encode_images_of(model, images, rows)
    whole = caption_graph.encode_images(model, images)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      expected = sess.run(whole, {images: batch})
      assert expected.shape == (3, 2 * units), expected.shape
      # Rows differ by far more than the tolerance (else a wrong row would
      # pass). The tolerance allows for kernels that sum in another order
      # on another batch size: 8e-6 seen with oneDNN, whose batch-1
      # convolutions are other kernels (close to the former 1e-5).
      atol = 1e-4
      for i, j in ((0, 1), (0, 2), (1, 2)):
        gap = np.abs(expected[i] - expected[j]).max()
        assert gap > 100 * atol, ("rows %d and %d too close" % (i, j), gap)
      for chosen in ([], [1], [2, 0], [0, 1, 2]):
        got = sess.run(selected, {images: batch, rows: chosen})
        assert got.shape == (len(chosen), 2 * units), (chosen, got.shape)
        np.testing.assert_allclose(got, expected[chosen], rtol=0, atol=atol,
                                   err_msg="rows %s" % chosen)
      # No image at all in the request.
      got = sess.run(selected, {images: batch[:0], rows: []})
      assert got.shape == (0, 2 * units), got.shape


class EncodeImagesOfTest(unittest.TestCase):

  def testAnyRowsIncludingNoneWithEitherKernels(self):
    # oneDNN's convolutions fail on a batch of 0 images (what the guard is
    # for); each setting needs its own process.
    probe = ("from tests import serving_graph_test as t; "
             "t.check_encode_images_of(); "
             "from tensorflow.python.util import _pywrap_util_port as p; "
             "print('oneDNN', p.IsMklEnabled())")
    for onednn in ("0", "1"):
      env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                 TF_ENABLE_ONEDNN_OPTS=onednn,
                 PYTHONPATH=testing_utils.REPO_ROOT)
      result = subprocess.run([sys.executable, "-c", probe], env=env,
                              capture_output=True, text=True, timeout=600)
      self.assertEqual(result.returncode, 0, result.stderr[-3000:])
      self.assertEqual(result.stdout.split()[-2:],
                       ["oneDNN", str(onednn == "1")])


if __name__ == "__main__":
  unittest.main()
