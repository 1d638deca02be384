"""The decoder is the one owner of the model's projection, word embedding,
LSTM and logits: a structural check of the package's sources, and checks
that every graph built on a model uses its one set of variables."""

import ast
import os
import tempfile
import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.training import self_critical
from im2txt.serving import caption_graph
from im2txt.serving import saved_model_export
from im2txt import show_and_tell_model
from im2txt.data import schema
from im2txt.inference_utils import vocabulary
from im2txt.ops import decoder as decoder_lib
from im2txt.ops import model_inputs
from im2txt.ops import scheduled_sampling
from tests import testing_utils

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "im2txt")
DECODER = os.path.join("ops", "decoder.py")

# Calls that construct one of the decoder's parts.
CONSTRUCTORS = {"BasicLSTMCell", "LSTMCell", "LSTMBlockCell", "GRUCell",
                "DropoutWrapper", "MultiRNNCell", "dynamic_rnn", "static_rnn",
                "embedding_lookup", "fully_connected", "Dense", "dense"}
# Scope names of the decoder's variables, as literals or schema constants.
DECODER_SCOPES = {schema.LSTM_SCOPE, schema.LOGITS_SCOPE,
                  schema.WORD_EMBEDDING_SCOPE, schema.IMAGE_EMBEDDING_SCOPE}
SCOPE_CONSTANTS = {"LSTM_SCOPE", "LOGITS_SCOPE", "WORD_EMBEDDING_SCOPE",
                   "IMAGE_EMBEDDING_SCOPE"}
# Where a reuse of variables is the module's own business, not a rebuild of
# the decoder's parts: the encoder reruns itself (a second feed, batch-norm
# calibration), and clones replicate the whole model (which builds its
# decoder through ops/decoder.py).
REUSE_ALLOWED = {os.path.join("ops", "image_embedding.py"),
                 os.path.join("training", "model_deploy.py")}
# Inception v3's own head is a "logits" name scope inside InceptionV3/
# (pooling and dropout, no variables).
SCOPE_ALLOWED = {(os.path.join("ops", "image_embedding.py"), "logits")}


def _package_sources():
  for root, _, files in os.walk(PACKAGE):
    for name in sorted(files):
      if name.endswith(".py"):
        path = os.path.join(root, name)
        yield os.path.relpath(path, PACKAGE), path


def _call_name(node):
  func = node.func
  if isinstance(func, ast.Attribute):
    return func.attr
  if isinstance(func, ast.Name):
    return func.id
  return None


def _scope_name(node):
  """The literal or schema constant naming a variable_scope call's scope."""
  if not node.args:
    return None
  arg = node.args[0]
  if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
    return arg.value
  if isinstance(arg, ast.Attribute) and arg.attr in SCOPE_CONSTANTS:
    return getattr(schema, arg.attr)
  return None


def find_violations(relative, source):
  """What `source` (a module of the package at `relative`) does that only
  the decoder may do: a list of "file:line: what" strings."""
  problems = []
  for node in ast.walk(ast.parse(source)):
    where = "%s:%d" % (relative, getattr(node, "lineno", 0))
    if isinstance(node, ast.Call):
      name = _call_name(node)
      if name in CONSTRUCTORS:
        problems.append("%s: constructs %s" % (where, name))
      if name == "variable_scope":
        scope = _scope_name(node)
        if (scope in DECODER_SCOPES and
            (relative, scope) not in SCOPE_ALLOWED):
          problems.append("%s: opens the decoder's scope %r" % (where, scope))
      if name == "reuse_variables" and relative not in REUSE_ALLOWED:
        problems.append("%s: reuses variables" % where)
      for keyword in node.keywords:
        if keyword.arg != "reuse" or relative in REUSE_ALLOWED:
          continue
        value = keyword.value
        if not (isinstance(value, ast.Constant) and value.value is None):
          problems.append("%s: reuse=%s" % (where, ast.unparse(value)))
  return problems


class OneOwnerTest(unittest.TestCase):

  def testNoOtherModuleBuildsOrRebuildsTheDecodersParts(self):
    problems = []
    for relative, path in _package_sources():
      if relative == DECODER:
        continue
      with open(path, encoding="utf-8") as f:
        problems += find_violations(relative, f.read())
    self.assertEqual(problems, [], "\n".join(problems))

  def testTheCheckFindsEachKindOfCopy(self):
    # The check itself: each way of making a second copy is caught.
    copies = {
        "cell": "c = tf.nn.rnn_cell.BasicLSTMCell(8)",
        "lookup": "e = tf.nn.embedding_lookup(m, ids)",
        "dense": "y = slim.fully_connected(x, 10, scope=s)",
        "scope": "with tf.variable_scope('seq_embedding'):\n  pass",
        "constant": "with tf.variable_scope(schema.LOGITS_SCOPE):\n  pass",
        "reuse": "with tf.variable_scope(s, reuse=True):\n  pass",
        "auto": "with tf.variable_scope(s, reuse=tf.AUTO_REUSE):\n  pass",
        "method": "scope.reuse_variables()",
    }
    for what, source in copies.items():
      self.assertEqual(len(find_violations("serving.py", source)), 1, what)
    self.assertEqual(find_violations(
        "x.py", "with tf.variable_scope('member_0', reuse=None):\n  pass"),
                     [])


def _contract(config):
  return {
      schema.PROJECTION_WEIGHTS_NAME: [2048, config.embedding_size],
      schema.EMBEDDING_MAP_NAME: [config.vocab_size, config.embedding_size],
      schema.LSTM_KERNEL_NAME: [config.embedding_size +
                                config.num_lstm_units,
                                4 * config.num_lstm_units],
      schema.LSTM_BIAS_NAME: [4 * config.num_lstm_units],
      schema.LOGITS_WEIGHTS_NAME: [config.num_lstm_units, config.vocab_size],
      schema.LOGITS_BIASES_NAME: [config.vocab_size],
  }


def _decoder_variables():
  return {v.op.name: v.shape.as_list() for v in tf.global_variables()
          if not v.op.name.startswith(schema.ENCODER_SCOPE) and
          v.op.name != "global_step"}


class OneSetOfVariablesTest(unittest.TestCase):

  def setUp(self):
    self.config = testing_utils.tiny_model_config()

  def _input_batch(self, length=6):
    c = self.config
    rng = np.random.RandomState(0)
    ids = tf.constant(rng.randint(0, c.vocab_size, [c.batch_size, length]),
                      tf.int64)
    return model_inputs.InputBatch(
        tf.constant(rng.uniform(-1, 1, [c.batch_size, c.image_height,
                                        c.image_width, 3]), tf.float32),
        None, ids, ids, tf.ones([c.batch_size, length], tf.int32),
        tf.range(c.batch_size, dtype=tf.int64))

  def testTrainingWithScheduledSamplingAndSelfCriticalShareTheModels(self):
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(
          self.config, "train", input_batch=self._input_batch(),
          truth_probability_fn=lambda step: tf.constant(0.5))
      model.build()
      self_critical.build_loss(
          model, model.input_batch.image_ids,
          lambda i, s, g: (np.zeros(len(i), np.float32),) * 2,
          start_id=1, end_id=2, max_length=4, add_summaries=False)
      self.assertEqual(_decoder_variables(), _contract(self.config))
      self.assertIs(model.embedding_map, model.decoder.embedding_map)

  def testServingGraphOnAnInferenceModelAddsNoVariables(self):
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(self.config, "inference")
      model.build()
      before = {v.op.name for v in tf.global_variables()}
      vocab = _four_word_vocabulary()
      for images_per_batch in (0, 2):  # All at once, and in batches.
        caption_graph.caption_outputs(
            model, tf.placeholder(tf.string, [None]), tf.constant("unused"),
            vocab, beam_size=2, max_caption_length=4,
            length_normalization_factor=0.0,
            images_per_batch=images_per_batch)
      self.assertEqual({v.op.name for v in tf.global_variables()}, before)
      self.assertEqual(_decoder_variables(), _contract(self.config))


def _four_word_vocabulary():
  """A Vocabulary of <S>, </S>, "a" and "b" (and <UNK>)."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "word_counts.txt")
    with open(path, "w", encoding="utf-8") as f:
      f.write("".join("%s 1\n" % w for w in
                      [schema.START_WORD, schema.END_WORD, "a", "b"]))
    return vocabulary.Vocabulary(path)


class ServingGraphVariablesTest(unittest.TestCase):

  def testExportedVariablesAreResourceVariables(self):
    # TensorFlow 2 loads resource variables as tf.Variables; reference
    # variables each get a warning and are invisible to its training APIs.
    # The decoder creates its variables (the encoder's too) in the scope
    # the model was made in, so the export makes the model in its scope.
    config = testing_utils.tiny_model_config()
    vocab = _four_word_vocabulary()
    graph, _, _ = saved_model_export.build_serving_graph(
        config, vocab, "unused", beam_size=2, max_caption_length=4,
        length_normalization_factor=0.0)
    variables = graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
    self.assertGreater(len(variables), 100)
    self.assertEqual(
        sorted(v.op.name for v in variables if v.op.type != "VarHandleOp"),
        [])


class DecoderComputationsTest(unittest.TestCase):

  def testStepsEqualTheUnrolledLstmAndSoftmaxStep(self):
    config = testing_utils.tiny_model_config(initializer_scale=0.3)
    batch, length = 3, 5
    rng = np.random.RandomState(1)
    with tf.Graph().as_default():
      tf.set_random_seed(7)
      decoder = decoder_lib.Decoder(config)
      images = tf.constant(rng.randn(batch, 2048), tf.float32)
      ids = tf.constant(rng.randint(0, config.vocab_size, [batch, length]),
                        tf.int64)
      state = decoder.initial_state(decoder.project_images(images))
      unrolled = decoder.unroll(decoder.embed(ids), state,
                                tf.fill([batch], length))
      stepped, step_state = [], state
      for t in range(length):
        output, step_state = decoder.step(decoder.embed(ids[:, t]),
                                          step_state)
        stepped.append(output)
      softmax, next_states = decoder.softmax_step(
          ids[:, 0], decoder.join_state(state))
      first_output, first_state = decoder.step(decoder.embed(ids[:, 0]),
                                               state)
      variables = _decoder_variables()
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run({
            "unrolled": unrolled, "stepped": tf.stack(stepped, 1),
            "softmax": softmax, "next": next_states,
            "expected_softmax": tf.nn.softmax(decoder.logits(first_output)),
            "expected_next": decoder.join_state(first_state)})
    self.assertEqual(variables, _contract(config))
    np.testing.assert_allclose(got["unrolled"], got["stepped"], atol=1e-6)
    self.assertGreater(np.abs(got["stepped"]).max(), 1e-3)
    np.testing.assert_allclose(got["softmax"], got["expected_softmax"],
                               atol=1e-7)
    np.testing.assert_allclose(got["next"], got["expected_next"], atol=1e-7)

  def testTrainingDropoutOnlyWhereAsked(self):
    config = testing_utils.tiny_model_config(lstm_dropout_keep_prob=0.5)
    with tf.Graph().as_default():
      decoder = decoder_lib.Decoder(config, is_training=True)
      inputs = tf.ones([64, config.embedding_size])
      state = decoder.zero_state(64)
      with_dropout, _ = decoder.step(inputs, state)
      without, _ = decoder.step(inputs, state, dropout=False)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b, b2 = sess.run([with_dropout, without, without])
    np.testing.assert_array_equal(b, b2)
    self.assertFalse(np.allclose(a, b))
    # Output dropout zeroes about half of the outputs.
    self.assertGreater(np.mean(a == 0), 0.2)


class ScheduledSamplingOnTheDecoderTest(unittest.TestCase):

  def testFullTruthEqualsTeacherForcing(self):
    config = testing_utils.tiny_model_config(initializer_scale=0.3)
    rng = np.random.RandomState(2)
    with tf.Graph().as_default():
      decoder = decoder_lib.Decoder(config)
      ids = tf.constant(rng.randint(0, config.vocab_size, [2, 4]), tf.int64)
      state = decoder.initial_state(decoder.project_images(
          tf.constant(rng.randn(2, 2048), tf.float32)))
      logits, fed = scheduled_sampling.decode(decoder, state, ids,
                                              tf.constant(1.0))
      forced = decoder.logits(tf.reshape(decoder.unroll(
          decoder.embed(ids), state, tf.fill([2], 4)),
                                         [-1, config.num_lstm_units]))
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got, want, fed_ids, truth = sess.run(
            [logits, forced, fed, ids])
    np.testing.assert_array_equal(fed_ids, truth)
    np.testing.assert_allclose(got.reshape(want.shape), want, atol=1e-6)


if __name__ == "__main__":
  unittest.main()
