"""A checkpoint save that fails (a full disk, a file size limit): the run
stops at the first failure in one line naming the directory, the cause and
the space needed, removes the partial files, and the last complete
checkpoint stays the latest.

The files' sizes are limited with RLIMIT_FSIZE, which needs no privilege
(writes past the limit fail with EFBIG; Python ignores SIGXFSZ); a real
full disk (ENOSPC) is a small tmpfs where this process may mount one.
"""

import contextlib
import glob
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import unittest

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.training import guarded_saver
from tests import testing_utils

# A 16 MB variable: the checkpoint's data file is a little more.
_SHAPE = [4000, 1000]


@contextlib.contextmanager
def _file_size_limit(num_bytes):
  """Limits the size of files this process writes (then restores it)."""
  soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
  resource.setrlimit(resource.RLIMIT_FSIZE, (num_bytes, hard))
  try:
    yield
  finally:
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _small_tmpfs(size_mb):
  """A folder on a new tmpfs of `size_mb`, or None where mounting is not
  allowed."""
  folder = tempfile.mkdtemp(prefix="im2txt-tmpfs-")
  result = subprocess.run(
      ["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", folder],
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
  if result.returncode != 0:
    os.rmdir(folder)
    return None
  return folder


class GuardedSaverTest(unittest.TestCase):

  def setUp(self):
    self.train_dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.train_dir, True)
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.step = tf.train.get_or_create_global_step()
      self.variable = tf.get_variable("v", _SHAPE)
      self.increment = tf.assign_add(self.step, 1)
      self.saver = tf.train.Saver(max_to_keep=2)
      init = tf.global_variables_initializer()
      self.guarded = guarded_saver.GuardedSaver(
          self.saver, self.train_dir, self.step, tf.global_variables())
    self.sess = tf.Session(graph=self.graph)
    self.addCleanup(self.sess.close)
    self.sess.run(init)
    self.stops = []
    self.guarded.on_failure(lambda: self.stops.append(1))

  def _save(self):
    return self.guarded.save(self.sess, os.path.join(self.train_dir,
                                                     "model.ckpt"),
                             global_step=self.step)

  def _assert_stopped_cleanly(self, directory, cause, why=""):
    self.assertEqual(self.stops, [1])
    self.assertRegex(
        self.guarded.failure,
        r"^cannot save the checkpoint of global step 1 in %s: %s\. A "
        r"checkpoint needs about 1\d MB there; [\d.]+ MB are free%s\. Make "
        r"room there \(or use another --train_dir\) and rerun the same "
        r"command: it resumes from model\.ckpt-0, the latest complete "
        r"checkpoint\.$"
        % (directory, cause, why))
    self.assertEqual(tf.train.latest_checkpoint(directory),
                     os.path.join(directory, "model.ckpt-0"))
    self.assertEqual(glob.glob(os.path.join(directory, "*tempstate*")), [])
    self.assertEqual(glob.glob(os.path.join(directory, "model.ckpt-1*")), [])
    # Stopped: no second attempt, no second stop, and check() raises.
    self.assertIsNone(self._save())
    self.assertEqual(self.stops, [1])
    with self.assertRaisesRegex(guarded_saver.CheckpointSaveError,
                                "global step 1"):
      self.guarded.check()

  def testFileSizeLimit(self):
    self.assertTrue(self._save().endswith("model.ckpt-0"))
    self.guarded.check()  # Nothing failed.
    self.sess.run(self.increment)
    with _file_size_limit(8 * 10**6):
      self.assertIsNone(self._save())
    # The disk has room: the message says something else refused it.
    self._assert_stopped_cleanly(
        self.train_dir, "File too large",
        ", so a quota or a file size limit refused it")

  def testFullDisk(self):
    folder = _small_tmpfs(24)
    if folder is None:
      self.skipTest("mounting a tmpfs is not allowed here")
    self.addCleanup(os.rmdir, folder)
    self.addCleanup(subprocess.run, ["umount", folder], check=False)
    self.train_dir = folder
    self.guarded = guarded_saver.GuardedSaver(
        self.saver, folder, self.step, [self.variable])
    self.guarded.on_failure(lambda: self.stops.append(1))
    self.assertTrue(self._save().endswith("model.ckpt-0"))
    self.sess.run(self.increment)
    self.assertIsNone(self._save())
    self._assert_stopped_cleanly(folder, "No space left on device")

  def testCauseFromTensorFlowsMessage(self):
    error = tf.errors.ResourceExhaustedError(
        None, None, "Graph execution error:\n\nDetected at node 'save/SaveV2'"
        "\n/d/model.ckpt-7.data-00000-of-00001.tempstate123; No space left "
        "on device\n\t [[{{node save/SaveV2}}]]")
    message = guarded_saver.describe_failure(error, "gs://bucket/run", 7,
                                             10**8, None)
    self.assertEqual(
        message, "cannot save the checkpoint of global step 7 in "
        "gs://bucket/run: No space left on device. Make room there (or use "
        "another --train_dir) and rerun the same command: no checkpoint was "
        "completed, so it starts again.")


@pytest.mark.slow
class TrainStopsAtTheFirstFailedSaveTest(testing_utils.TinyDataTestCase):

  def testResumedRunOnAFullDisk(self):
    train_dir = os.path.join(self.root, "full")
    testing_utils.copy_train_dir(testing_utils.shared_train_dir(), train_dir)
    before = tf.train.latest_checkpoint(train_dir)
    before_files = {p: os.path.getsize(p) for p in glob.glob(before + ".*")}
    # Room for the logs, the configs and the events file, not for the
    # checkpoint's data file (tens of MB with the Inception v3 weights).
    limit = max(before_files.values()) // 4
    command, env = testing_utils.module_command("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + self.config_file,
        "--number_of_steps=%d" % (testing_utils.SHARED_TRAIN_STEPS + 20),
        "--log_every_n_steps=1"])

    def limit_file_sizes():
      resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=600,
                            env=env, cwd=testing_utils.REPO_ROOT,
                            preexec_fn=limit_file_sizes, check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertNotIn("Traceback", result.stderr)
    self.assertRegex(
        result.stderr.strip().splitlines()[-1],
        r"^train: error: cannot save the checkpoint of global step \d+ in "
        r"%s: File too large\. A checkpoint needs about \d+ MB there; \d+ MB "
        r"are free, so a quota or a file size limit refused it\. .* it "
        r"resumes from %s, the latest complete checkpoint\.$"
        % (train_dir, os.path.basename(before)))
    # Stopped at the first failure: one failed save, a step or two later.
    failures = set(re.findall(r"Checkpoint save failed \(\d+ partial "
                              r"file\(s\) removed\): cannot save the "
                              r"checkpoint of global step (\d+)",
                              result.stderr))
    self.assertEqual(len(failures), 1, failures)
    # The stop closed the input queues: that is not "input exhausted".
    self.assertNotIn("Input exhausted", result.stderr)
    # Steps run while the save is being written (how many depends on the
    # machine's speed); after the failure is logged, at most the step under
    # way finishes. (Each step's line is printed twice, by TensorFlow's
    # handler and by absl's: count steps, not lines.)
    after_failure = result.stderr[result.stderr.index(
        "Checkpoint save failed"):]
    self.assertLessEqual(
        len(set(re.findall(r"global step (\d+): loss", after_failure))), 1,
        after_failure[-3000:])
    # The last complete checkpoint is untouched and still the latest.
    self.assertEqual(tf.train.latest_checkpoint(train_dir), before)
    self.assertEqual({p: os.path.getsize(p) for p in glob.glob(before + ".*")},
                     before_files)
    self.assertEqual(glob.glob(os.path.join(train_dir, "*tempstate*")), [])


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
