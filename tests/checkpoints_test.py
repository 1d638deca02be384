"""Checkpoints: resolving a prefix or directory, the config beside it, its
global step, its variables against a graph; local and ram:// paths."""

import os
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt import configuration


def _save(folder, steps, shape=(3, 2)):
  """Saves checkpoints model.ckpt-<step> with `w` and global_step."""
  with tf.Graph().as_default():
    step = tf.Variable(0, name="global_step", dtype=tf.int32)
    tf.get_variable("w", shape)
    saver = tf.train.Saver(max_to_keep=10)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for s in steps:
        sess.run(step.assign(s))
        saver.save(sess, folder + "/model.ckpt", global_step=s)


class CheckpointsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = tempfile.mkdtemp()
    _save(self.folder, [3, 7])

  def testDirectoryResolvesToItsLatestCheckpoint(self):
    self.assertEqual(checkpoints.resolve(self.folder),
                     os.path.join(self.folder, "model.ckpt-7"))
    prefix = os.path.join(self.folder, "model.ckpt-3")
    self.assertEqual(checkpoints.resolve(prefix), prefix)
    self.assertEqual(checkpoints.global_step(prefix), 3)
    self.assertEqual(checkpoints.global_step(checkpoints.resolve(
        self.folder)), 7)

  def testRelativePathsResolveToAbsoluteOnes(self):
    cwd = os.getcwd()
    try:
      os.chdir(os.path.dirname(self.folder))
      name = os.path.basename(self.folder)
      self.assertEqual(checkpoints.resolve(name),
                       os.path.join(self.folder, "model.ckpt-7"))
      self.assertEqual(checkpoints.resolve(name + "/model.ckpt-3"),
                       os.path.join(self.folder, "model.ckpt-3"))
    finally:
      os.chdir(cwd)

  def testErrorsSayWhatIsThere(self):
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                "No checkpoint path given"):
      checkpoints.resolve("")
    empty = tempfile.mkdtemp()
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                "has no file named 'checkpoint'"):
      checkpoints.resolve(empty)
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                r"Pass the prefix without '\.index'"):
      checkpoints.resolve(os.path.join(self.folder, "model.ckpt-7.index"))
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                "model.ckpt-99 not found"):
      checkpoints.resolve(os.path.join(self.folder, "model.ckpt-99"))
    # An index whose checkpoints were deleted (rotated out, copied without
    # them).
    for name in os.listdir(self.folder):
      if name.startswith("model.ckpt"):
        os.remove(os.path.join(self.folder, name))
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                "lists no checkpoint whose files exist"):
      checkpoints.resolve(self.folder)

  def testModelConfigBesideTheCheckpoint(self):
    self.assertEqual(checkpoints.model_config_for(self.folder),
                     configuration.ModelConfig())
    self.assertFalse(checkpoints.has_saved_model_config(self.folder))
    config = configuration.ModelConfig()
    config.vocab_size = 77
    configuration.save_configs(self.folder, config)
    prefix = checkpoints.resolve(self.folder)
    self.assertTrue(checkpoints.has_saved_model_config(prefix))
    self.assertEqual(checkpoints.model_config_for(prefix).vocab_size, 77)
    self.assertEqual(checkpoints.model_config_for(self.folder).vocab_size, 77)
    other = os.path.join(self.folder, "other.json")
    config.vocab_size = 5
    with open(other, "w") as f:
      f.write(config.to_json_string())
    self.assertEqual(checkpoints.model_config_for(prefix, other).vocab_size, 5)

  def testVariablesAgainstAGraph(self):
    prefix = checkpoints.resolve(self.folder)
    with tf.Graph().as_default():
      good = [tf.get_variable("w", [3, 2])]
      checkpoints.check_has_variables(prefix, good)
    with tf.Graph().as_default():
      other = [tf.get_variable("w", [4, 2]), tf.get_variable("v", [1])]
      with self.assertRaises(checkpoints.CheckpointMismatchError) as e:
        checkpoints.check_has_variables(prefix, other)
      self.assertIn("1 variables missing (e.g. v)", str(e.exception))
      self.assertIn("w: checkpoint [3, 2], model [4, 2]", str(e.exception))
      with self.assertRaisesRegex(checkpoints.CheckpointMismatchError,
                                  "Cannot read checkpoint"):
        checkpoints.check_has_variables(prefix + "-missing", other)

  def testRamFileSystemLikeABucket(self):
    # TensorFlow's in-memory file system stands in for gs:// here.
    folder = "ram://checkpoints_test/train"
    tf.io.gfile.makedirs(folder)
    _save(folder, [5])
    config = configuration.ModelConfig()
    config.num_lstm_units = 24
    configuration.save_configs(folder, config)
    prefix = checkpoints.resolve(folder)
    self.assertEqual(prefix, folder + "/model.ckpt-5")
    # (TensorFlow's own checkpoint reader takes a ram:// prefix for a
    # folder, so global_step is checked on local files only.)
    self.assertEqual(checkpoints.model_config_for(prefix).num_lstm_units, 24)
    with self.assertRaisesRegex(checkpoints.CheckpointNotFoundError,
                                "not found"):
      checkpoints.resolve(folder + "/model.ckpt-6")


if __name__ == "__main__":
  tf.test.main()
