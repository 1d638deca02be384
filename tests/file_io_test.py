"""Atomic writes: local files and TensorFlow file systems (gs:// etc.)."""

import os
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.evaluation import eval_state
from im2txt.common import file_io


class WriteAtomicallyTest(tf.test.TestCase):

  def testLocalFileIsReplacedWithoutLeftovers(self):
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "a.json")
    file_io.write_atomically(path, b"first")
    file_io.write_atomically(path, b"second")
    with open(path, "rb") as f:
      self.assertEqual(f.read(), b"second")
    self.assertEqual(os.listdir(folder), ["a.json"])

  def testPathWithASchemeGoesThroughGfile(self):
    # TensorFlow's in-memory file system stands in for gs:// here: open()
    # cannot write it, so only the gfile route passes.
    folder = "ram://file_io_test/eval"
    tf.io.gfile.makedirs(folder)
    path = folder + "/a.json"
    self.assertFalse(file_io.is_local(path))
    file_io.write_atomically(path, b"first")
    file_io.write_atomically(path, b"second")
    with tf.io.gfile.GFile(path, "rb") as f:
      self.assertEqual(f.read(), b"second")
    self.assertEqual(tf.io.gfile.listdir(folder), ["a.json"])

  def testEvaluatedStepsRoundTripOnBothKindsOfPath(self):
    tf.io.gfile.makedirs("ram://file_io_test/steps")
    for eval_dir in (tempfile.mkdtemp(), "ram://file_io_test/steps"):
      self.assertEqual(eval_state.load_evaluated_steps(eval_dir), set())
      eval_state.save_evaluated_steps(eval_dir, {30, 1, 6100})
      self.assertEqual(eval_state.load_evaluated_steps(eval_dir), {1, 30, 6100})
      self.assertEqual(tf.io.gfile.listdir(eval_dir),
                       [eval_state.EVALUATED_STEPS_FILENAME])


class FileLayerTest(tf.test.TestCase):

  def testSameBehaviourOnLocalAndRamPaths(self):
    for root in (tempfile.mkdtemp(), "ram://file_io_test/layer"):
      folder = file_io.join(root, "a", "b")
      self.assertFalse(file_io.exists(folder + "/x.txt"))
      file_io.makedirs(folder)
      file_io.makedirs(folder)  # Existing: fine.
      self.assertTrue(file_io.isdir(folder))
      file_io.write_atomically(folder + "/x.txt", "h\u00e9")
      file_io.write_atomically(folder + "/y.txt", b"2")
      self.assertTrue(file_io.exists(folder + "/x.txt"))
      self.assertEqual(file_io.read_text(folder + "/x.txt"), "h\u00e9")
      self.assertEqual(file_io.read_bytes(folder + "/y.txt"), b"2")
      self.assertEqual(file_io.glob(folder + "/*.txt"),
                       [folder + "/x.txt", folder + "/y.txt"])
      file_io.remove(folder + "/y.txt")
      self.assertEqual(file_io.glob(folder + "/*.txt"), [folder + "/x.txt"])
      with self.assertRaises(FileNotFoundError):
        file_io.read_bytes(folder + "/y.txt")
      file_io.check_writable_location(folder + "/z.json")

  def testOutputInAMissingFolderIsRefusedBeforeWork(self):
    missing = os.path.join(tempfile.mkdtemp(), "no", "such")
    with self.assertRaisesRegex(OSError, "the folder .*no/such does not "
                                "exist"):
      file_io.check_writable_location(os.path.join(missing, "results.json"))


if __name__ == "__main__":
  tf.test.main()
