"""Training on several clones equals training on their concatenated batch."""

import glob
import os
import tempfile

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.training import model_deploy
from im2txt.training import builder
from im2txt.ops import model_inputs
from tests import testing_utils

BATCH = 2  # Per clone.


def _batch(rng, config, lengths, features):
  """A fixed InputBatch: captions of the given lengths, zero padded."""
  width = max(lengths)
  seqs = np.zeros([len(lengths), width + 1], np.int64)
  mask = np.zeros([len(lengths), width], np.int32)
  for row, length in enumerate(lengths):
    seqs[row, :length + 1] = rng.randint(1, config.vocab_size, length + 1)
    mask[row, :length] = 1
  if features:
    images = None
    image_features = rng.normal(size=[len(lengths), 2048]).astype(np.float32)
  else:
    images = rng.uniform(-1, 1, [len(lengths), config.image_height,
                                 config.image_width, 3]).astype(np.float32)
    image_features = None
  return model_inputs.InputBatch(images, image_features, seqs[:, :-1],
                                 seqs[:, 1:], mask)


def _concat(a, b):
  """The two batches as one, padded to the longer caption."""
  def pad(x, width):
    return np.pad(x, [(0, 0), (0, width - x.shape[1])])
  width = max(a.input_mask.shape[1], b.input_mask.shape[1])
  fields = {}
  for name in ("input_seqs", "target_seqs", "input_mask"):
    fields[name] = np.concatenate(
        [pad(getattr(a, name), width), pad(getattr(b, name), width)])
  for name in ("images", "image_features"):
    x = getattr(a, name)
    fields[name] = None if x is None else np.concatenate(
        [x, getattr(b, name)])
  return model_inputs.InputBatch(**fields)


def _constants(batch):
  return model_inputs.InputBatch(
      *[None if x is None else tf.constant(x) for x in batch])


def _train_one_step(built, session_config, checkpoint=None):
  """Initialises (or restores `checkpoint`), runs one train step.

  Returns:
    (loss, {variable name: value after the step}, checkpoint saved before).
  """
  with built.graph.as_default():
    init = tf.global_variables_initializer()
    with tf.Session(config=session_config) as sess:
      if checkpoint:
        built.saver.restore(sess, checkpoint)
      else:
        sess.run(init)
        checkpoint = built.saver.save(
            sess, os.path.join(tempfile.mkdtemp(), "model.ckpt"))
      loss = sess.run(built.train_op)
      values = {v.op.name: sess.run(v) for v in tf.global_variables()}
  return loss, values, checkpoint


class CloneEquivalenceTest(tf.test.TestCase):

  def _check(self, features):
    config = testing_utils.tiny_model_config(lstm_dropout_keep_prob=1.0,
                                             batch_size=BATCH)
    training_config = configuration.TrainingConfig()
    training_config.initial_learning_rate = 0.5
    rng = np.random.RandomState(7)
    # Unequal word counts: 4 words against 13, so a plain mean of the two
    # clones' losses would differ from the concatenated batch's loss.
    halves = [_batch(rng, config, [1, 3], features),
              _batch(rng, config, [7, 6], features)]
    whole = _concat(*halves)
    pattern = "unused-features*" if features else ""

    single = builder.build_training_graph(
        config, training_config, train_inception=False,
        features_file_pattern=pattern,
        clone_batches=lambda i: _constants(whole))
    loss1, after1, checkpoint = _train_one_step(single, tf.ConfigProto())

    deploy = model_deploy.deploy_config(num_clones=2, clone_on_cpu=True)
    cloned = builder.build_training_graph(
        config, training_config, train_inception=False,
        features_file_pattern=pattern, deploy=deploy,
        clone_batches=lambda i: _constants(halves[i]))
    # One set of variables, with the single-device names.
    with single.graph.as_default():
      names1 = sorted(v.op.name for v in tf.global_variables())
    with cloned.graph.as_default():
      names2 = sorted(v.op.name for v in tf.global_variables())
      # (Ops without a device, such as TensorArrays, are colocated with
      # the ops that use them.)
      devices = {op.device for op in cloned.graph.get_operations()
                 if op.name.startswith("clone_1/lstm/") and op.device}
      var_devices = {v.device for v in tf.global_variables()}
    self.assertEqual(names1, names2)
    self.assertFalse([n for n in names2 if "clone" in n])
    self.assertEqual(devices, {"/device:CPU:1"})
    self.assertEqual(var_devices, {"/device:CPU:0"})

    loss2, after2, _ = _train_one_step(
        cloned, model_deploy.session_config(deploy), checkpoint)
    self.assertAllClose(loss1, loss2, rtol=1e-5, atol=1e-6)
    for name in names1:
      self.assertAllClose(after1[name], after2[name], rtol=1e-4, atol=1e-6,
                          msg=name)
    # The step changed the decoder (so the comparison compares updates).
    reader = tf.train.load_checkpoint(checkpoint)
    names = ["lstm/basic_lstm_cell/kernel", "logits/weights",
             "seq_embedding/map"]
    if features:
      # (An uncalibrated random encoder outputs zeros for images: the
      # embedding gets no gradient on that path.)
      names.append("image_embedding/weights")
    still = [n for n in names
             if np.allclose(reader.get_tensor(n), after2[n], rtol=0, atol=0)]
    self.assertEqual(still, [])
    self.assertEqual(after2["global_step"], 1)

  @pytest.mark.slow  # Two Inception v3 graphs with gradients: ~90 s.
  def testImagesPhase1(self):
    self._check(features=False)

  def testFeaturesPhase1(self):
    self._check(features=True)


def _ancestors(op):
  """Every op `op` depends on (data or control)."""
  seen, todo = set(), [op]
  while todo:
    current = todo.pop()
    for parent in [t.op for t in current.inputs] + current.control_inputs:
      if parent not in seen:
        seen.add(parent)
        todo.append(parent)
  return seen


class Phase2ClonesTest(tf.test.TestCase):

  @pytest.mark.slow  # Inception v3 gradients on two clones: ~1 min.
  def testBatchNormUpdatesComeFromTheFirstClone(self):
    config = testing_utils.tiny_model_config(batch_size=BATCH)
    rng = np.random.RandomState(3)
    halves = [_batch(rng, config, [2, 3], False),
              _batch(rng, config, [4, 1], False)]
    deploy = model_deploy.deploy_config(num_clones=2, clone_on_cpu=True)
    built = builder.build_training_graph(
        config, configuration.TrainingConfig(), train_inception=True,
        deploy=deploy, clone_batches=lambda i: _constants(halves[i]))
    with built.graph.as_default():
      updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
      first = model_deploy.first_clone_collection(tf.GraphKeys.UPDATE_OPS)
      # Each clone builds its batch-norm updates; the train op runs the
      # first clone's only (one moving mean and variance per layer).
      self.assertEqual(len(updates), 2 * len(first))
      self.assertEqual(len(first), 2 * 94)
      ran = _ancestors(built.train_op.op)
      self.assertEqual({o.op for o in updates if o.op in ran},
                       {o.op for o in first})
      mean = [v for v in tf.global_variables()
              if v.op.name.endswith("Conv2d_1a_3x3/BatchNorm/moving_mean")][0]
      init = tf.global_variables_initializer()
    with tf.Session(graph=built.graph,
                    config=model_deploy.session_config(deploy)) as sess:
      sess.run(init)
      before = sess.run(mean)
      loss = sess.run(built.train_op)
      self.assertTrue(np.isfinite(loss))
      self.assertFalse(np.allclose(before, sess.run(mean)))
      self.assertEqual(sess.run(built.model.global_step), 1)


@pytest.mark.slow
class TwoCloneTrainTest(testing_utils.TinyDataTestCase):
  """The train binary with two clones, then run_inference on its
  checkpoint (a single-device graph)."""

  def testTrainsAndCaptions(self):
    train_dir = os.path.join(self.root, "clones")
    result = testing_utils.train_tiny_model(
        self.paths, train_dir, self.config_file, 6, "--num_clones=2",
        "--clone_on_cpu", "--log_every_n_steps=1")
    self.assertIn("global step 6: loss", result.stderr)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(train_dir))
    names = reader.get_variable_to_shape_map()
    self.assertFalse([n for n in names if n.startswith("clone_")])
    self.assertEqual(reader.get_tensor("global_step"), 6)
    image = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                          "*.jpg")))[0]
    captions = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + image])
    self.assertIn("Captions for image %s:" % os.path.basename(image),
                  captions.stdout)
    self.assertRegex(captions.stdout, r"  0\) .* \(p=[0-9.]+\)")


class DeviceChecksTest(tf.test.TestCase):

  def testClonesNeedGpusOrCpuFlag(self):
    deploy = model_deploy.deploy_config(num_clones=2)
    with self.assertRaisesRegex(ValueError, "needs 2 GPUs.*--clone_on_cpu"):
      model_deploy.check_devices(deploy, num_gpus=0)
    model_deploy.check_devices(deploy, num_gpus=2)
    model_deploy.check_devices(
        model_deploy.deploy_config(num_clones=2, clone_on_cpu=True), 0)

  def testSingleDeviceGraphIsUnplaced(self):
    built = builder.build_training_graph(
        testing_utils.tiny_model_config(), configuration.TrainingConfig(),
        train_inception=False, features_file_pattern="unused*",
        clone_batches=lambda i: _constants(_batch(
            np.random.RandomState(0), testing_utils.tiny_model_config(),
            [2, 3], True)))
    # Nothing but the model's own choice (the word embedding, its update and
    # the saver on the CPU, as in the original) places anything.
    ops = built.graph.get_operations()
    self.assertEqual({op.device for op in ops}, {"", "/device:CPU:0"})
    self.assertEqual({op.name.split("/")[0] for op in ops if op.device},
                     {"seq_embedding", "save", "OptimizeLoss"})
    self.assertFalse([op for op in ops if op.name.startswith("clone_")])

  def testNumClonesAtLeastOne(self):
    with self.assertRaisesRegex(ValueError, "at least 1"):
      model_deploy.deploy_config(num_clones=0)


if __name__ == "__main__":
  tf.test.main()
