"""Checkpoints of TensorFlow 0.x and 1.0-1.1: detected, refused with the
converter's command, and converted to captions identical to the original's."""

import os
import shlex
import shutil
import tempfile
import unittest

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt.serving import legacy_checkpoints
from tests import testing_utils

V0_NAMES = {legacy_checkpoints.KERNEL: "lstm/BasicLSTMCell/Linear/Matrix",
            legacy_checkpoints.BIAS: "lstm/BasicLSTMCell/Linear/Bias"}
V1_0_NAMES = {legacy_checkpoints.KERNEL: "lstm/basic_lstm_cell/weights",
              legacy_checkpoints.BIAS: "lstm/basic_lstm_cell/biases"}


def write_checkpoint(tensors, prefix, v1_format=False):
  """Saves {name: array} as a checkpoint at prefix (V1: one file)."""
  with tf.Graph().as_default():
    feeds, variables = {}, []
    for name, value in sorted(tensors.items()):
      value = np.asarray(value)
      placeholder = tf.placeholder(tf.as_dtype(value.dtype), value.shape)
      variables.append(tf.Variable(placeholder, name=name))
      feeds[placeholder] = value
    saver = tf.train.Saver(variables, write_version=(
        tf.train.SaverDef.V1 if v1_format else tf.train.SaverDef.V2))
    with tf.Session() as sess:
      sess.run([v.initializer for v in variables], feeds)
      os.makedirs(os.path.dirname(prefix), exist_ok=True)
      saver.save(sess, prefix, write_meta_graph=False)
  return prefix


def read_checkpoint(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


def renamed_to(tensors, names):
  """tensors with the current LSTM names (and their slots' names) replaced
  by a legacy naming."""
  out = {}
  for name, value in tensors.items():
    for current, old in names.items():
      if name == current or name.startswith(current + "/"):
        name = old + name[len(current):]
        break
    out[name] = value
  return out


class LegacyNamesTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir)
    rng = np.random.RandomState(0)
    self.current = {
        legacy_checkpoints.KERNEL: rng.rand(6, 8).astype(np.float32),
        legacy_checkpoints.BIAS: rng.rand(8).astype(np.float32),
        legacy_checkpoints.KERNEL + "/Momentum":
            rng.rand(6, 8).astype(np.float32),
        "seq_embedding/map": rng.rand(5, 3).astype(np.float32),
        "global_step": np.int32(1000000),
    }

  def testReleaseOfEachNaming(self):
    self.assertEqual(legacy_checkpoints.legacy_release(V0_NAMES.values()),
                     "TensorFlow 0.10-0.12")
    self.assertEqual(legacy_checkpoints.legacy_release(V1_0_NAMES.values()),
                     "TensorFlow 1.0-1.1")
    self.assertIsNone(legacy_checkpoints.legacy_release(self.current))
    self.assertIsNone(legacy_checkpoints.legacy_release(["InceptionV3/x"]))
    self.assertEqual(
        legacy_checkpoints.renamed("lstm/basic_lstm_cell/weights/Momentum"),
        "lstm/basic_lstm_cell/kernel/Momentum")
    self.assertEqual(legacy_checkpoints.renamed("logits/biases"),
                     "logits/biases")

  def _assertConverts(self, names, v1_format):
    legacy = write_checkpoint(renamed_to(self.current, names),
                              os.path.join(self.dir, "old", "model.ckpt-7"),
                              v1_format=v1_format)
    self.assertEqual(legacy_checkpoints.is_v1_file(legacy), v1_format)
    out = os.path.join(self.dir, "new", "model.ckpt-7")
    renames = legacy_checkpoints.convert(legacy, out)
    self.assertEqual(set(renames.values()), {
        legacy_checkpoints.KERNEL, legacy_checkpoints.BIAS,
        legacy_checkpoints.KERNEL + "/Momentum"})
    got = read_checkpoint(out)
    self.assertEqual(sorted(got), sorted(self.current))
    for name, value in self.current.items():
      self.assertEqual(got[name].dtype, np.asarray(value).dtype, name)
      np.testing.assert_array_equal(got[name], value)
    # A V2 checkpoint with its own index, usable by directory.
    self.assertEqual(checkpoints.resolve(os.path.dirname(out)), out)
    return legacy

  def testConvertsTensorFlow0V1File(self):
    self._assertConverts(V0_NAMES, v1_format=True)

  def testConvertsTensorFlow1V2Checkpoint(self):
    self._assertConverts(V1_0_NAMES, v1_format=False)

  def testLegacyCheckpointIsRefusedWithTheCommand(self):
    legacy = write_checkpoint(renamed_to(self.current, V1_0_NAMES),
                              os.path.join(self.dir, "m", "model.ckpt-9"))
    with self.assertRaises(legacy_checkpoints.LegacyCheckpointError) as cm:
      legacy_checkpoints.check_current(legacy)
    message = str(cm.exception)
    self.assertIn("written by TensorFlow 1.0-1.1", message)
    self.assertIn("lstm/basic_lstm_cell/biases", message)
    self.assertIn(
        "convert_legacy_checkpoint --input_checkpoint=%s --output_checkpoint="
        "%s" % (legacy, os.path.join(self.dir, "m", "converted",
                                     "model.ckpt-9")), message)
    # The V1 file of TensorFlow 0.x is refused as such by resolve.
    v1 = write_checkpoint(renamed_to(self.current, V0_NAMES),
                          os.path.join(self.dir, "v1", "model.ckpt-3"),
                          v1_format=True)
    with self.assertRaisesRegex(legacy_checkpoints.LegacyCheckpointError,
                                "TensorFlow 0.10-0.12"):
      checkpoints.resolve(v1)
    # A V1 file with the current names is a usable checkpoint.
    current_v1 = write_checkpoint(self.current, os.path.join(
        self.dir, "v1current", "model.ckpt-3"), v1_format=True)
    self.assertEqual(checkpoints.resolve(current_v1), current_v1)

  def testConverterRefusals(self):
    legacy = write_checkpoint(renamed_to(self.current, V0_NAMES),
                              os.path.join(self.dir, "a", "model.ckpt-1"))
    with self.assertRaisesRegex(legacy_checkpoints.LegacyCheckpointError,
                                "already exists"):
      legacy_checkpoints.convert(legacy, legacy)
    with self.assertRaisesRegex(legacy_checkpoints.LegacyCheckpointError,
                                "Cannot read checkpoint .*missing"):
      legacy_checkpoints.convert(os.path.join(self.dir, "missing"),
                                 os.path.join(self.dir, "b", "x"))
    both = dict(renamed_to(self.current, V0_NAMES))
    both["lstm/basic_lstm_cell/weights"] = self.current[
        legacy_checkpoints.KERNEL]
    mixed = write_checkpoint(both, os.path.join(self.dir, "c", "model.ckpt-1"))
    with self.assertRaisesRegex(legacy_checkpoints.LegacyCheckpointError,
                                "cannot be converted"):
      legacy_checkpoints.convert(mixed, os.path.join(self.dir, "d", "x"))
    # An output under a regular file: refused before anything is read.
    blocker = os.path.join(self.dir, "plain_file")
    open(blocker, "w").close()
    with self.assertRaisesRegex(legacy_checkpoints.LegacyCheckpointError,
                                "Cannot write %s: %s is a file, not a folder"
                                % (os.path.join(blocker, "sub", "x"), blocker)):
      legacy_checkpoints.convert(legacy, os.path.join(blocker, "sub", "x"))

  def testConvertingIntoAFolderKeepsItsOtherCheckpointsListed(self):
    folder = os.path.join(self.dir, "train")
    newer = dict(self.current, global_step=np.int32(2000000))
    kept = [write_checkpoint(values, os.path.join(folder, name))
            for values, name in ((self.current, "model.ckpt-1000000"),
                                 (newer, "model.ckpt-2000000"))]
    tf.train.update_checkpoint_state(folder, kept[1],
                                     all_model_checkpoint_paths=kept)
    legacy = write_checkpoint(
        dict(renamed_to(self.current, V1_0_NAMES), global_step=np.int32(7)),
        os.path.join(self.dir, "old", "model.ckpt-7"))
    out = os.path.join(folder, "model.ckpt-7")
    legacy_checkpoints.convert(legacy, out)
    state = tf.train.get_checkpoint_state(folder)
    # (TensorFlow keeps the latest last in the list.)
    self.assertEqual(sorted(state.all_model_checkpoint_paths),
                     sorted(kept + [out]))
    # Older than the latest listed one: the latest stays.
    self.assertEqual(state.model_checkpoint_path, kept[1])
    # A newer conversion becomes the latest.
    legacy = write_checkpoint(
        dict(renamed_to(self.current, V1_0_NAMES),
             global_step=np.int32(3000000)),
        os.path.join(self.dir, "old", "model.ckpt-3000000"))
    newest = os.path.join(folder, "model.ckpt-3000000")
    legacy_checkpoints.convert(legacy, newest)
    self.assertEqual(checkpoints.resolve(folder), newest)
    self.assertEqual(sorted(tf.train.get_checkpoint_state(
        folder).all_model_checkpoint_paths), sorted(kept + [out, newest]))


@pytest.mark.slow
class LegacyTrainedModelTest(testing_utils.TinyDataTestCase):
  """A trained checkpoint renamed to each legacy naming (as the community's
  released checkpoints are), refused by the binaries, then converted."""

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.checkpoint = checkpoints.resolve(cls.train_dir)
    cls.tensors = read_checkpoint(cls.checkpoint)
    cls.image = os.path.join(cls.paths["val_image_dir"],
                             sorted(os.listdir(cls.paths["val_image_dir"]))[0])
    cls.want = cls._caption(cls.checkpoint)

  @classmethod
  def _caption(cls, checkpoint, check=True):
    return testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + checkpoint,
        "--vocab_file=" + cls.paths["vocab_file"],
        "--model_config_file=" + cls.config_file,
        "--input_files=" + cls.image], check=check)

  def _legacy(self, names, v1_format):
    folder = tempfile.mkdtemp(dir=self.root)
    return write_checkpoint(
        renamed_to(self.tensors, names),
        os.path.join(folder, os.path.basename(self.checkpoint)),
        v1_format=v1_format)

  def _assertRoundTrip(self, names, v1_format):
    legacy = self._legacy(names, v1_format)
    refused = self._caption(legacy, check=False)
    self.assertEqual(refused.returncode, 1)
    self.assertIn("run_inference: error: Checkpoint %s was written by"
                  % legacy, refused.stderr)
    # The command the message gives, run as given.
    command = [line.strip() for line in refused.stderr.splitlines()
               if line.strip().startswith("convert_legacy_checkpoint ")][0]
    args = shlex.split(command)[1:]
    converted = testing_utils.run_module("im2txt.convert_legacy_checkpoint",
                                         args)
    self.assertIn("renamed %s -> %s" % (names[legacy_checkpoints.KERNEL],
                                        legacy_checkpoints.KERNEL),
                  converted.stdout)
    output = legacy_checkpoints.suggested_output(legacy)
    self.assertEqual(checkpoints.global_step(output), self.TRAIN_STEPS)
    got = read_checkpoint(output)
    self.assertEqual(sorted(got), sorted(self.tensors))
    for name, value in self.tensors.items():
      np.testing.assert_array_equal(got[name], value)
    self.assertEqual(self._caption(output).stdout, self.want.stdout)
    self.assertIn("Captions for image", self.want.stdout)
    return legacy

  def testTensorFlow0CheckpointRoundTrip(self):
    self._assertRoundTrip(V0_NAMES, v1_format=True)

  def testTensorFlow1CheckpointRoundTrip(self):
    self._assertRoundTrip(V1_0_NAMES, v1_format=False)

  def testTrainAndEvaluateNameTheConverter(self):
    legacy = self._legacy(V1_0_NAMES, v1_format=False)
    train_dir = os.path.dirname(legacy)
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir,
        "--model_config_file=" + self.config_file,
        "--number_of_steps=%d" % (self.TRAIN_STEPS + 2)], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("train: error: Checkpoint %s was written by TensorFlow "
                  "1.0-1.1" % legacy, result.stderr)
    self.assertIn("convert_legacy_checkpoint --input_checkpoint=" + legacy,
                  result.stderr)
    self.assertEqual(checkpoints.resolve(train_dir), legacy)  # untouched
    result = testing_utils.run_module("im2txt.export_saved_model", [
        "--checkpoint_path=" + legacy,
        "--vocab_file=" + self.paths["vocab_file"],
        "--model_config_file=" + self.config_file,
        "--export_dir=" + os.path.join(self.root, "export_legacy")],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("export_saved_model: error: Checkpoint %s was written by "
                  "TensorFlow 1.0-1.1" % legacy, result.stderr)
    self.assertFalse(os.path.exists(os.path.join(self.root, "export_legacy")))
    v1 = self._legacy(V0_NAMES, v1_format=True)
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=" + os.path.dirname(v1),
        "--eval_dir=" + os.path.join(self.root, "eval_legacy"),
        "--model_config_file=" + self.config_file,
        "--num_eval_examples=4", "--min_global_step=0", "--run_once"],
        check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    self.assertIn("evaluate: error: Checkpoint %s was written by TensorFlow "
                  "0.10-0.12" % v1, result.stderr)


if __name__ == "__main__":
  unittest.main()
