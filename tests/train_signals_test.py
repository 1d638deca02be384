"""train and local_cluster under SIGTERM (a preemptible machine, a
scheduler): a checkpoint at the current step, the lock released, a clean
exit, and the leftovers of an interrupted save removed by the next run."""

import os
import re
import signal
import subprocess
import time

import pytest

from im2txt import train
from tests import testing_utils

pytestmark = pytest.mark.slow


def _wait_for(path, pattern, proc, timeout=300):
  """Waits until the log at `path` matches `pattern`; returns the match."""
  deadline = time.time() + timeout
  while time.time() < deadline:
    with open(path, errors="replace") as f:
      found = re.findall(pattern, f.read())
    if found:
      return found
    if proc.poll() is not None:
      raise AssertionError("exited (%d) before %r" % (proc.returncode,
                                                      pattern))
    time.sleep(0.5)
  raise AssertionError("no %r within %d s" % (pattern, timeout))


def _terminate_while_training(command, env, log, watched_log, timeout):
  """Starts `command` (output to `log`), sends it SIGTERM once
  `watched_log` shows a training step, and waits for it to exit.

  Returns:
    (exit code, the text of `log`).
  """
  with open(log, "w") as out:
    proc = subprocess.Popen(command, env=env, stdout=out,
                            stderr=subprocess.STDOUT)
  try:
    deadline = time.time() + 300
    while not os.path.exists(watched_log) and time.time() < deadline:
      time.sleep(0.5)
    _wait_for(watched_log, r"global step (\d+): loss", proc)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=timeout)
  finally:
    if proc.poll() is None:
      proc.kill()
  with open(log, errors="replace") as f:
    return proc.returncode, f.read()


class TrainSignalsTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS
  COPY_TRAIN_DIR = True

  def testSigtermSavesTheCurrentStepAndExitsCleanly(self):
    # What a save killed half-way leaves behind: removed by the next run.
    leftover = os.path.join(self.train_dir, "model.ckpt-39.data-00000-of-"
                            "00001.tempstate1234567890")
    with open(leftover, "wb") as f:
      f.write(b"\0" * 1024)
    log = os.path.join(self.root, "train.log")
    command, env = testing_utils.module_command("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + self.train_dir,
        "--model_config_file=" + self.config_file,
        "--number_of_steps=100000", "--save_interval_secs=600",
        "--save_summaries_secs=600", "--log_every_n_steps=1"])
    code, text = _terminate_while_training(command, env, log, log, 120)
    self.assertEqual(code, 0, text[-3000:])
    self.assertIn("SIGTERM received: stopping after this step", text)
    stopped = int(re.search(r"Stopped by SIGTERM at global step (\d+)",
                            text).group(1))
    last_logged = max(int(s) for s in re.findall(r"global step (\d+): loss",
                                                 text))
    self.assertEqual(stopped, last_logged)
    self.assertGreater(stopped, testing_utils.SHARED_TRAIN_STEPS)
    # The checkpoint of the step it stopped at, which the index names.
    self.assertEqual(testing_utils.checkpoint_steps(self.train_dir)[-1],
                     stopped)
    self.assertTrue(os.path.exists(os.path.join(
        self.train_dir, "model.ckpt-%d.index" % stopped)))
    self.assertFalse(os.path.exists(os.path.join(self.train_dir,
                                                 train.LOCK_FILENAME)))
    self.assertFalse(os.path.exists(leftover))
    self.assertIn("Removed 1 temporary checkpoint files of an interrupted "
                  "save", text)
    self.assertNotIn("Traceback", text)


class LocalClusterSignalsTest(testing_utils.TinyDataTestCase):

  def testSigtermStopsEveryTaskAndTheChiefSaves(self):
    train_dir = os.path.join(self.root, "cluster_train")
    logs = os.path.join(self.root, "logs")
    log = os.path.join(self.root, "local_cluster.log")
    command, env = testing_utils.module_command("im2txt.local_cluster", [
        "--num_ps=1", "--num_workers=1", "--logs_dir=" + logs, "--",
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + self.config_file,
        "--number_of_steps=100000", "--save_interval_secs=600",
        "--log_every_n_steps=1"])
    worker_log = os.path.join(logs, "worker-0.log")
    code, text = _terminate_while_training(command, env, log, worker_log, 180)
    self.assertEqual(code, 1, text[-3000:])
    self.assertIn("Terminated; stopping the cluster, the workers first.",
                  text)
    with open(worker_log, errors="replace") as f:
      worker = f.read()
    stopped = int(re.search(r"Stopped by SIGTERM at global step (\d+)",
                            worker).group(1))
    # (In a cluster the step read beside the update can lag it by one.)
    self.assertIn(testing_utils.checkpoint_steps(train_dir)[-1],
                  (stopped, stopped + 1), worker[-3000:])
    # No task outlives the launcher.
    for name in ("ps-0.log", "worker-0.log"):
      self.assertTrue(os.path.exists(os.path.join(logs, name)))
    alive = subprocess.run(["pgrep", "-f", train_dir], capture_output=True,
                           text=True).stdout.split()
    self.assertEqual(alive, [])
