"""Structural tests of the Inception v3 encoder (the original's test)."""

import collections

from im2txt import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from im2txt.ops import image_embedding

# Elements per InceptionV3 block, moving statistics included (the layout of
# the official inception_v3_2016_08_28 checkpoint).
BLOCK_ELEMENTS = {
    "Conv2d_1a_3x3": 960,
    "Conv2d_2a_3x3": 9312,
    "Conv2d_2b_3x3": 18624,
    "Conv2d_3b_1x1": 5360,
    "Conv2d_4a_3x3": 138816,
    "Mixed_5b": 256368,
    "Mixed_5c": 277968,
    "Mixed_5d": 285648,
    "Mixed_6a": 1153920,
    "Mixed_6b": 1298944,
    "Mixed_6c": 1692736,
    "Mixed_6d": 1692736,
    "Mixed_6e": 2143872,
    "Mixed_7a": 1699584,
    "Mixed_7b": 5047872,
    "Mixed_7c": 6080064,
}


class InceptionV3Test(tf.test.TestCase):

  def _build(self, trainable, is_training):
    g = tf.Graph()
    with g.as_default():
      images = tf.placeholder(tf.float32, [4, 299, 299, 3])
      embeddings = image_embedding.inception_v3(
          images, trainable=trainable, is_training=is_training)
      self.assertEqual(embeddings.get_shape().as_list(), [4, 2048])
      counts = collections.Counter()
      for v in tf.global_variables():
        self.assertTrue(v.op.name.startswith("InceptionV3/"), v.op.name)
        self.assertGreater(v.shape.num_elements(), 0)
        counts[v.op.name.split("/")[1]] += v.shape.num_elements()
      self.assertEqual(dict(counts), BLOCK_ELEMENTS)
      self.assertEqual(sum(counts.values()), 21802784)
      sizes = tuple(len(tf.get_collection(k)) for k in (
          tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES,
          tf.GraphKeys.UPDATE_OPS, tf.GraphKeys.REGULARIZATION_LOSSES,
          tf.GraphKeys.LOSSES, tf.GraphKeys.SUMMARIES))
      self.assertLen(tf.get_collection(image_embedding.MOVING_VARS_COLLECTION),
                     188)
      names = set(v.op.name for v in tf.global_variables())
    return sizes, names

  def testTrainableTrueIsTrainingTrue(self):
    sizes, _ = self._build(True, True)
    self.assertEqual(sizes, (376, 188, 188, 94, 0, 23))

  def testTrainableTrueIsTrainingFalse(self):
    sizes, _ = self._build(True, False)
    self.assertEqual(sizes, (376, 188, 0, 94, 0, 23))

  def testTrainableFalseIsTrainingTrue(self):
    sizes, _ = self._build(False, True)
    self.assertEqual(sizes, (376, 0, 0, 0, 0, 23))

  def testTrainableFalseIsTrainingFalse(self):
    sizes, names = self._build(False, False)
    self.assertEqual(sizes, (376, 0, 0, 0, 0, 23))
    # Checkpoint names, including slim's quirky Mixed_5c branch names.
    for name in ("InceptionV3/Conv2d_1a_3x3/weights",
                 "InceptionV3/Conv2d_1a_3x3/BatchNorm/beta",
                 "InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean",
                 "InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_variance",
                 "InceptionV3/Mixed_5b/Branch_1/Conv2d_0b_5x5/weights",
                 "InceptionV3/Mixed_5c/Branch_1/Conv2d_0b_1x1/weights",
                 "InceptionV3/Mixed_5c/Branch_1/Conv_1_0c_5x5/weights"):
      self.assertIn(name, names)
    self.assertFalse([n for n in names if "gamma" in n or "biases" in n])


class BatchNormCalibrationTest(tf.test.TestCase):

  def testSetsStatisticsWithoutChangingTheModel(self):
    with tf.Graph().as_default():
      images = tf.random_uniform([4, 75, 75, 3], -1, 1, seed=1)
      image_embedding.inception_v3(images, trainable=False, is_training=True)
      before = {k: len(tf.get_collection(k)) for k in (
          tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES,
          tf.GraphKeys.UPDATE_OPS, tf.GraphKeys.SUMMARIES)}
      updates = image_embedding.batch_norm_calibration_updates(images,
                                                               decay=0.0)
      after = {k: len(tf.get_collection(k)) for k in before}
      self.assertEqual(before, after)
      self.assertLen(updates, 188)  # Mean and variance of 94 layers.
      mean = tf.global_variables(
          "InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean")[0]
      weights = tf.global_variables("InceptionV3/Conv2d_1a_3x3/weights")[0]
      # The first layer's statistics are those of its convolution output.
      conv = tf.nn.conv2d(images, weights, [1, 2, 2, 1], "VALID")
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertAllEqual(sess.run(mean), [0.0] * 32)
        # One run with decay 0 sets them to this batch's (the seed fixes
        # the batch within the run).
        _, batch_mean = sess.run([updates, tf.reduce_mean(conv, [0, 1, 2])])
        self.assertAllClose(sess.run(mean), batch_mean, rtol=1e-3, atol=1e-4)


if __name__ == "__main__":
  tf.test.main()
