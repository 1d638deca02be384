"""Tests of phase 2's encoder recomputation (Grappler's manual mode)."""

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.training import recompute
from im2txt.training import builder
from im2txt.data import schema
from im2txt.ops import model_inputs
from tests import testing_utils


def _phase2_graph():
  """A tiny phase-2 training graph fed a fixed batch."""
  # No dropout: the two runs compared must draw nothing at random.
  config = testing_utils.tiny_model_config(lstm_dropout_keep_prob=1.0)
  rng = np.random.RandomState(0)
  size, length = config.image_height, 7

  def batch_fn(unused_clone):
    return model_inputs.InputBatch(
        images=tf.constant(rng.uniform(-1, 1, size=(
            config.batch_size, size, size, 3)).astype(np.float32)),
        image_features=None,
        input_seqs=tf.constant(rng.randint(
            1, config.vocab_size, size=(config.batch_size, length)), tf.int64),
        target_seqs=tf.constant(rng.randint(
            1, config.vocab_size, size=(config.batch_size, length)), tf.int64),
        input_mask=tf.ones([config.batch_size, length], tf.int32))

  return builder.build_training_graph(
      config, configuration.TrainingConfig(), True, clone_batches=batch_fn)


def _train_steps(built, session_config, initial=None, steps=2):
  """Runs `steps` steps from `initial` values (default: random); returns
  the losses, the initial values, the variables after the steps, and the
  names of the ops the session ran."""
  with built.graph.as_default():
    init = tf.global_variables_initializer()
    variables = tf.global_variables()
  names = [v.op.name for v in variables]
  with tf.Session(graph=built.graph, config=session_config) as sess:
    sess.run(init)
    if initial is not None:
      for variable, name in zip(variables, names):
        variable.load(initial[name], sess)
    start = dict(zip(names, sess.run(variables)))
    options = tf.RunOptions(output_partition_graphs=True)
    metadata = tf.RunMetadata()
    losses = []
    for _ in range(steps):
      losses.append(sess.run(built.train_op, options=options,
                             run_metadata=metadata))
    values = dict(zip(names, sess.run(variables)))
  ran = [node.name for g in metadata.partition_graphs for node in g.node]
  return losses, start, values, ran


class RecomputeTest(tf.test.TestCase):

  def testMarksOnlyTheEncodersForwardOps(self):
    built = _phase2_graph()
    count = recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE)
    marked = [op for op in built.graph.get_operations()
              if recompute.HINT in op.node_def.attr]
    self.assertEqual(len(marked), count)
    self.assertGreater(count, 500)
    self.assertTrue(all(op.name.startswith("InceptionV3/") for op in marked))
    types = set(op.type for op in marked)
    self.assertIn("Conv2D", types)
    self.assertFalse(types & {"VariableV2", "Assign", "AssignSub"})
    self.assertFalse([op for op in marked if "AssignMovingAvg" in op.name])
    with self.assertRaisesRegex(ValueError, "no op in scope 'Nowhere'"):
      recompute.mark_encoder(built.graph, "Nowhere")

  def testSegmentsKeepTheirOutputsAndRecomputeTheirInsides(self):
    built = _phase2_graph()
    recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE,
                           recompute.segments_of(
                               "Conv2d_1a_3x3+Conv2d_2a_3x3,Mixed_5b"))

    def marked(name):
      op = built.graph.get_operation_by_name("InceptionV3/InceptionV3/" + name)
      return recompute.HINT in op.node_def.attr

    # The first segment: its output (the second layer's activation) kept,
    # everything before it recomputed.
    self.assertFalse(marked("Conv2d_2a_3x3/Relu"))
    self.assertTrue(marked("Conv2d_2a_3x3/Conv2D"))
    self.assertTrue(marked("Conv2d_2a_3x3/BatchNorm/FusedBatchNormV3"))
    self.assertTrue(marked("Conv2d_1a_3x3/Relu"))
    # A Mixed block: the concatenation kept, its branches recomputed.
    self.assertFalse(marked("Mixed_5b/concat"))
    self.assertTrue(marked("Mixed_5b/Branch_1/Conv2d_0b_5x5/Relu"))
    # Blocks outside every segment are left alone.
    self.assertFalse(marked("Conv2d_2b_3x3/Conv2D"))
    self.assertFalse(marked("Mixed_5c/Branch_0/Conv2d_0a_1x1/Conv2D"))
    self.assertFalse(marked("Conv2d_1a_3x3/BatchNorm/AssignMovingAvg"))

  def testSegmentsOfTheFlag(self):
    self.assertIsNone(recompute.segments_of("whole"))
    self.assertEqual(recompute.segments_of("stem, Mixed_6a+Mixed_6b"),
                     (recompute.STEM, ("Mixed_6a", "Mixed_6b")))
    self.assertIsNone(recompute.DEFAULT_SEGMENTS)
    for value, problem in (("Mixed_9z", "unknown block Mixed_9z"),
                           ("stem,Conv2d_1a_3x3",
                            "Conv2d_1a_3x3 in two segments"),
                           (" , ", "no block"),
                           ("whole,stem", "unknown block whole")):
      with self.assertRaisesRegex(ValueError, problem):
        recompute.segments_of(value)

  @pytest.mark.slow
  def testSameTrainingWithRecomputedActivations(self):
    # The same initial values, batch and steps with and without the
    # optimizer's recomputation. Phase 2's steps are not bit-reproducible
    # on a CPU (multithreaded reductions: two plain runs from the same
    # values differ by about 1e-4 of the loss, and the encoder's smallest
    # updates differ wholly), so the recomputed run is held to the
    # difference between two plain runs.
    plain_losses, initial, plain, plain_ran = _train_steps(
        _phase2_graph(), tf.ConfigProto())
    again_losses, _, again, _ = _train_steps(
        _phase2_graph(), tf.ConfigProto(), initial)
    built = _phase2_graph()
    # Segments (train --recompute_encoder_blocks): the stem and two
    # Mixed blocks each recomputed from its kept input.
    recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE,
                           recompute.segments_of("stem,Mixed_5b,Mixed_6a"))
    config = recompute.config_with_recomputation(tf.ConfigProto(
        allow_soft_placement=True))
    self.assertTrue(config.allow_soft_placement)
    losses, _, values, ran = _train_steps(built, config, initial)
    # The optimizer did recompute encoder ops (in the graph it ran).
    # The optimizer did recompute ops of those segments, and of no other
    # block (in the graph it ran; under oneDNN's rewrites only their
    # convolutions and pools, with TensorFlow's kernels also batch norm
    # and ReLU).
    recomputed = [n for n in ran if n.startswith("Recomputed/")]
    self.assertGreaterEqual(len(recomputed), 16)
    prefix = "Recomputed/InceptionV3/InceptionV3/"
    self.assertEqual(
        set(n[len(prefix):].split("/")[0] for n in recomputed),
        set(recompute.STEM[:-1]) | {"Mixed_5b", "Mixed_6a"})
    self.assertFalse([n for n in plain_ran if "Recomputed" in n])
    self.assertAllClose(plain_losses, again_losses, rtol=5e-4)
    self.assertAllClose(plain_losses, losses, rtol=5e-4)

    def update_difference(other):
      """|other's updates - plain's| / |plain's|, over all variables."""
      diff = total = 0.0
      for name, value in plain.items():
        update = value - initial[name]
        diff += np.sum((other[name] - initial[name] - update) ** 2)
        total += np.sum(update ** 2)
      return np.sqrt(diff / total)

    self.assertEqual(sorted(plain), sorted(values))
    self.assertLess(update_difference(values),
                    3 * update_difference(again) + 1e-3)
    # Phase 2 trained the encoder: its first convolution moved.
    first = "InceptionV3/Conv2d_1a_3x3/weights"
    self.assertGreater(np.abs(values[first] - initial[first]).max(), 1e-6)


if __name__ == "__main__":
  tf.test.main()
