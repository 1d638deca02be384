"""Structural tests of ShowAndTellModel: variables, shapes, named tensors."""

import collections
import os
import tempfile

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt import show_and_tell_model
from im2txt.ops import image_embedding
from tests import testing_utils

# Elements per top-level scope of the default configuration.
FULL_SIZE_PARAMETERS = {
    "InceptionV3": 21802784,
    "image_embedding": 1048576,  # 2048 * 512, no bias
    "seq_embedding": 6144000,    # 12000 * 512
    "lstm": 2099200,             # (512 + 512) * 4 * 512 + 4 * 512
    "logits": 6156000,           # 512 * 12000 + 12000
    "global_step": 1,
}

# Non-Inception variables of an original im2txt checkpoint (TF >= 1.2).
CHECKPOINT_VARIABLES = {
    "image_embedding/weights": [2048, 512],
    "seq_embedding/map": [12000, 512],
    "lstm/basic_lstm_cell/kernel": [1024, 2048],
    "lstm/basic_lstm_cell/bias": [2048],
    "logits/weights": [512, 12000],
    "logits/biases": [12000],
    "global_step": [],
}


class RandomInputsModel(show_and_tell_model.ShowAndTellModel):
  """Feeds random images and captions instead of reading records."""

  def build_inputs(self):
    if self.mode == "inference":
      super().build_inputs()
      return
    c = self.config
    self.images = tf.random_uniform(
        [c.batch_size, c.image_height, c.image_width, 3], -1, 1)
    self.input_seqs = tf.random_uniform([c.batch_size, 15], 0, c.vocab_size,
                                        dtype=tf.int64)
    self.target_seqs = tf.random_uniform([c.batch_size, 15], 0, c.vocab_size,
                                         dtype=tf.int64)
    self.input_mask = tf.ones_like(self.input_seqs, dtype=tf.int32)


def _scope_counts():
  counts = collections.Counter()
  for v in tf.global_variables():
    counts[v.op.name.split("/")[0]] += v.shape.num_elements()
  return dict(counts)


class FullSizeStructureTest(tf.test.TestCase):

  def _build(self, mode, train_inception=False):
    g = tf.Graph()
    with g.as_default():
      model = RandomInputsModel(configuration.ModelConfig(), mode,
                                train_inception=train_inception)
      model.build()
    return g, model

  def testParameterCountsInEveryMode(self):
    for mode in show_and_tell_model.MODES:
      g, _ = self._build(mode)
      with g.as_default():
        self.assertEqual(_scope_counts(), FULL_SIZE_PARAMETERS, mode)

  def testVariableNamesShapesAndDtypes(self):
    g, model = self._build("train", train_inception=True)
    with g.as_default():
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()
                if not v.op.name.startswith("InceptionV3/")}
      self.assertEqual(shapes, CHECKPOINT_VARIABLES)
      self.assertEqual(model.global_step.dtype.base_dtype, tf.int32)
      self.assertLen(model.inception_variables, 376)
      # Phase 2 trains everything but the moving statistics.
      self.assertLen(tf.trainable_variables(), 188 + 6)
    g, _ = self._build("train", train_inception=False)
    with g.as_default():
      self.assertEqual(
          sorted(v.op.name for v in tf.trainable_variables()),
          sorted(n for n in CHECKPOINT_VARIABLES if n != "global_step"))
      trainable = sum(v.shape.num_elements() for v in tf.trainable_variables())
      self.assertEqual(trainable, 15447776)

  def testCheckpointNamesAndShapes(self):
    g, _ = self._build("eval")
    with tempfile.TemporaryDirectory() as d, g.as_default():
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = tf.train.Saver().save(sess, os.path.join(d, "model.ckpt"),
                                     global_step=0)
      shapes = tf.train.load_checkpoint(path).get_variable_to_shape_map()
    inception = {
        n: s for n, s in shapes.items() if n.startswith("InceptionV3/")
    }
    self.assertLen(inception, 376)
    self.assertEqual(inception["InceptionV3/Conv2d_1a_3x3/weights"],
                     [3, 3, 3, 32])
    self.assertEqual(inception["InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/"
                               "BatchNorm/moving_variance"], [192])
    others = {n: s for n, s in shapes.items()
              if not n.startswith("InceptionV3/")}
    self.assertEqual(others, CHECKPOINT_VARIABLES)

  def testInferenceTensorNames(self):
    g, _ = self._build("inference")
    expected = {
        show_and_tell_model.IMAGE_FEED: (tf.string, []),
        show_and_tell_model.INPUT_FEED: (tf.int64, [None]),
        show_and_tell_model.STATE_FEED: (tf.float32, [None, 1024]),
        show_and_tell_model.INITIAL_STATE: (tf.float32, [1, 1024]),
        show_and_tell_model.STATE: (tf.float32, [None, 1024]),
        show_and_tell_model.SOFTMAX: (tf.float32, [None, 12000]),
        "embedding_size:0": (tf.int32, []),
    }
    for name, (dtype, shape) in expected.items():
      tensor = g.get_tensor_by_name(name)
      self.assertEqual(tensor.dtype, dtype, name)
      self.assertEqual(tensor.shape.as_list(), shape, name)


class TinyModelTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.config = testing_utils.tiny_model_config()

  def _checkOutputs(self, mode):
    c = self.config
    with tf.Graph().as_default():
      model = RandomInputsModel(c, mode)
      model.build()
      fetches = {
          "images": model.images, "input_seqs": model.input_seqs,
          "target_seqs": model.target_seqs, "input_mask": model.input_mask,
          "image_embeddings": model.image_embeddings,
          "seq_embeddings": model.seq_embeddings,
          "total_loss": model.total_loss,
          "target_cross_entropy_losses": model.target_cross_entropy_losses,
          "target_cross_entropy_loss_weights":
              model.target_cross_entropy_loss_weights,
      }
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(fetches)
    b, e = c.batch_size, c.embedding_size
    self.assertEqual({k: v.shape for k, v in got.items()}, {
        "images": (b, 75, 75, 3), "input_seqs": (b, 15),
        "target_seqs": (b, 15), "input_mask": (b, 15),
        "image_embeddings": (b, e), "seq_embeddings": (b, 15, e),
        "total_loss": (), "target_cross_entropy_losses": (b * 15,),
        "target_cross_entropy_loss_weights": (b * 15,)})
    # Untrained logits are near zero: the loss is about log(vocab_size).
    self.assertAllClose(got["total_loss"], np.log(c.vocab_size), atol=0.2)

  def testBuildForTraining(self):
    self._checkOutputs("train")

  def testBuildForEval(self):
    self._checkOutputs("eval")

  def testBuildForInferenceFeedsAndFetchesByName(self):
    c = self.config
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(c, "inference")
      model.build()
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        images = np.random.uniform(-1, 1, [1, 75, 75, 3])
        state = sess.run(show_and_tell_model.INITIAL_STATE,
                         {model.images: images})
        self.assertEqual(state.shape, (1, 2 * c.num_lstm_units))
        states = np.tile(state, [3, 1])
        softmax, new_state = sess.run(
            [show_and_tell_model.SOFTMAX, show_and_tell_model.STATE],
            {show_and_tell_model.INPUT_FEED: [1, 2, 3],
             show_and_tell_model.STATE_FEED: states})
    self.assertEqual(softmax.shape, (3, c.vocab_size))
    self.assertAllClose(softmax.sum(axis=1), np.ones(3), atol=1e-5)
    self.assertEqual(new_state.shape, (3, 2 * c.num_lstm_units))

  def testLstmStateIsCThenH(self):
    # h = tanh(c) * sigmoid(o) elementwise, so |h| <= |tanh(c)|: the second
    # half of the state must be bounded by tanh of the first half.
    c = self.config
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(c, "inference")
      model.build()
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        state = sess.run(
            show_and_tell_model.INITIAL_STATE,
            {model.images: np.random.uniform(-1, 1, [1, 75, 75, 3])})[0]
    n = c.num_lstm_units
    self.assertTrue(
        np.all(np.abs(state[n:]) <= np.abs(np.tanh(state[:n])) + 1e-6))

  def testRejectsBadModeAndOddThreads(self):
    with self.assertRaisesRegex(ValueError, "mode must be one of"):
      show_and_tell_model.ShowAndTellModel(self.config, "serve")
    self.config.num_preprocess_threads = 3
    with self.assertRaisesRegex(ValueError, "even"):
      show_and_tell_model.ShowAndTellModel(self.config, "train")

  def testInceptionCheckpointRestoresIntoEncoder(self):
    # A checkpoint in the slim layout: the encoder's variables plus
    # classifier variables im2txt never creates.
    d = tempfile.mkdtemp()
    ckpt = os.path.join(d, "inception_v3.ckpt")
    with tf.Graph().as_default():
      image_embedding.inception_v3(tf.zeros([1, 75, 75, 3]), trainable=True,
                                   is_training=False)
      tf.get_variable("InceptionV3/Logits/Conv2d_1c_1x1/weights", [1, 1, 8, 3])
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        w = tf.global_variables()[0]
        expected = sess.run(w)
        tf.train.Saver().save(sess, ckpt)
    self.config.inception_checkpoint_file = ckpt
    with tf.Graph().as_default():
      model = RandomInputsModel(self.config, "train")
      model.build()
      self.assertIsNotNone(model.init_fn)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        model.init_fn(sess)
        self.assertAllEqual(sess.run(tf.global_variables(w.op.name)[0]),
                            expected)

  def testNoInceptionCheckpointMeansNoInitFn(self):
    self.config.inception_checkpoint_file = ""
    with tf.Graph().as_default():
      model = RandomInputsModel(self.config, "train")
      model.build()
      self.assertIsNone(model.init_fn)


class EncoderDtypeTest(tf.test.TestCase):
  """encoder_dtype: the same model and variables, refused where it cannot
  apply."""

  def _variables(self, **kwargs):
    with tf.Graph().as_default() as g:
      model = show_and_tell_model.ShowAndTellModel(
          testing_utils.tiny_model_config(), "inference", **kwargs)
      model.build()
      convs = {op.get_attr("T") for op in g.get_operations()
               if op.type == "Conv2D"}
      return [(v.op.name, v.shape.as_list(), v.dtype)
              for v in tf.global_variables()], convs

  def testBfloat16InferenceModelHasTheSameVariables(self):
    float32, float32_convs = self._variables()
    bfloat16, bfloat16_convs = self._variables(encoder_dtype="bfloat16")
    self.assertEqual(bfloat16, float32)
    self.assertEqual(float32_convs, {tf.float32})
    # Both encoder towers (one image, a batch) compute in bfloat16.
    self.assertEqual(bfloat16_convs, {tf.bfloat16})

  def testBfloat16RefusedWhereItCannotApply(self):
    config = testing_utils.tiny_model_config()
    with self.assertRaisesRegex(ValueError, "frozen Inception v3 only"):
      show_and_tell_model.ShowAndTellModel(
          config, "train", train_inception=True, encoder_dtype="bfloat16")
    with self.assertRaisesRegex(ValueError, "does not run when training from "
                                "cached features"):
      show_and_tell_model.ShowAndTellModel(
          config, "train", features_file_pattern="/x/features-*",
          encoder_dtype="bfloat16")
    with self.assertRaisesRegex(ValueError, "Unknown encoder dtype 'float16'"):
      show_and_tell_model.ShowAndTellModel(config, "inference",
                                           encoder_dtype="float16")


if __name__ == "__main__":
  tf.test.main()
