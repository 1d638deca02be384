"""Structural tests of the Inception v3 encoder (the original's test)."""

import collections

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
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


def _encoder_graph(compute_dtype, size=75):
  g = tf.Graph()
  with g.as_default():
    images = tf.placeholder(tf.float32, [2, size, size, 3])
    output = image_embedding.inception_v3(
        images, trainable=False, is_training=False, add_summaries=False,
        compute_dtype=compute_dtype)
  return g, output


def _variables(graph):
  return [(v.op.name, v.shape.as_list(), v.dtype.base_dtype.name)
          for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)]


class Bfloat16EncoderTest(tf.test.TestCase):
  """compute_dtype="bfloat16": same variables, bfloat16 convolutions."""

  def testSameVariablesWithBfloat16Convolutions(self):
    g32, out32 = _encoder_graph("float32")
    g16, out16 = _encoder_graph("bfloat16")
    # The checkpoint contract: every variable float32, named and shaped alike.
    self.assertEqual(_variables(g16), _variables(g32))
    self.assertEqual(len(_variables(g16)), 376)
    self.assertEqual({d for _, _, d in _variables(g16)}, {"float32"})
    self.assertEqual((out32.dtype, out16.dtype), (tf.float32, tf.float32))
    # Every convolution computes in bfloat16; batch norm takes bfloat16
    # activations with float32 statistics.
    convs = [op for op in g16.get_operations() if op.type == "Conv2D"]
    self.assertEqual(len(convs), 94)
    self.assertEqual({op.get_attr("T") for op in convs}, {tf.bfloat16})
    norms = [op for op in g16.get_operations()
             if op.type.startswith("FusedBatchNorm")]
    self.assertEqual(len(norms), 94)
    self.assertEqual({(op.get_attr("T"), op.get_attr("U")) for op in norms},
                     {(tf.bfloat16, tf.float32)})
    self.assertEqual(
        {op.get_attr("T") for op in g32.get_operations()
         if op.type == "Conv2D"}, {tf.float32})

  def testFeaturesCloseToFloat32(self):
    g = tf.Graph()
    with g.as_default():
      images = tf.placeholder(tf.float32, [4, 75, 75, 3])
      out32 = image_embedding.inception_v3(
          images, trainable=False, is_training=False, add_summaries=False)
      with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        out16 = image_embedding.inception_v3(
            images, trainable=False, is_training=False, add_summaries=False,
            compute_dtype="bfloat16")
      # Statistics of real activations, as a trained encoder would have.
      calibrate = image_embedding.batch_norm_calibration_updates(images)
      self.assertEqual(len(g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)),
                       376)
      rng = np.random.RandomState(0)
      batch = rng.uniform(-1, 1, [4, 75, 75, 3]).astype(np.float32)
      with self.session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
          sess.run(calibrate, {images: batch})
        a, b = sess.run([out32, out16], {images: batch})
    self.assertFalse(np.array_equal(a, b))  # Really another arithmetic.
    relative = np.linalg.norm(a - b) / np.linalg.norm(a)
    # About 3% here (random weights on noise images, 94 layers of 8-bit
    # mantissas); a wrong cast or scale would be off by far more.
    self.assertLess(relative, 0.08)
    for i in range(4):
      self.assertGreater(np.corrcoef(a[i], b[i])[0, 1], 0.99)

  def testBfloat16RefusedForATrainedEncoderOrUnknownDtype(self):
    images = tf.zeros([1, 75, 75, 3])
    with self.assertRaisesRegex(ValueError, "frozen Inception v3 only"):
      image_embedding.inception_v3(images, trainable=True,
                                   compute_dtype="bfloat16")
    with self.assertRaisesRegex(ValueError, "Unknown encoder dtype"):
      image_embedding.inception_v3(images, trainable=False,
                                   compute_dtype="float16")


if __name__ == "__main__":
  tf.test.main()
