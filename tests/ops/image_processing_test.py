"""Tests of image preprocessing: deterministic eval path, training ranges."""

import io

import numpy as np
from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.ops import image_processing


def _png_gradient(width=60, height=40):
  x = np.linspace(0, 255, width, dtype=np.uint8)
  array = np.stack([np.tile(x, (height, 1))] * 3, axis=-1)
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, "PNG")
  return buffer.getvalue(), array


class ImageProcessingTest(tf.test.TestCase):

  def testEvalPathIsResizeCentreCropRescale(self):
    png, _ = _png_gradient()
    with tf.Graph().as_default():
      out = image_processing.process_image(
          tf.constant(png), is_training=False, height=20, width=30,
          resize_height=24, resize_width=34, image_format="png")
      # Independent computation: decode, bilinear resize, centre crop.
      decoded = tf.image.convert_image_dtype(tf.image.decode_png(png, 3),
                                             tf.float32)
      resized = tf.image.resize_images(decoded, [24, 34])
      expected = (resized[2:22, 2:32] - 0.5) * 2.0
      with self.session() as sess:
        a, b = sess.run([out, expected])
        a2 = sess.run(out)
    self.assertEqual(a.shape, (20, 30, 3))
    self.assertAllClose(a, b)
    self.assertAllEqual(a, a2)  # Deterministic.

  def testTrainingPathShapeAndRange(self):
    png, _ = _png_gradient()
    with tf.Graph().as_default():
      outs = [image_processing.process_image(
          tf.constant(png), is_training=True, height=20, width=20,
          resize_height=30, resize_width=30, thread_id=t, image_format="png")
              for t in range(2)]
      names = [s.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)]
      with self.session() as sess:
        for _ in range(5):
          for value in sess.run(outs):
            self.assertEqual(value.shape, (20, 20, 3))
            self.assertGreaterEqual(value.min(), -1.0)
            self.assertLessEqual(value.max(), 1.0)
    # Image summaries from thread 0 only.
    self.assertEqual(sorted(n.split(":")[0] for n in names),
                     ["final_image", "original_image", "resized_image"])

  def testInvalidFormat(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(ValueError, "Invalid image format: gif"):
        image_processing.process_image(tf.constant(b""), False, 10, 10,
                                       image_format="gif")
      with self.assertRaisesRegex(ValueError, "both"):
        image_processing.process_image(tf.constant(b""), False, 10, 10,
                                       resize_height=5, resize_width=0)


if __name__ == "__main__":
  tf.test.main()
