"""Training on a cluster of processes on 127.0.0.1, and its faults.

Real parameter servers and workers (separate processes, free ports, the
same train command), on the tiny data set. Every wait has a deadline, so
every test ends by itself.
"""

import os
import re
import sys
import time

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.training import launcher
from tests import listeners
from tests import testing_utils

pytestmark = pytest.mark.slow

PS, WORKER = "ps", "worker"


def _last_run(text):
  """The output of a task's latest start (the launcher marks each)."""
  return text.rsplit("\n=== ", 1)[-1]


def _logged_steps(text):
  return [int(s) for s in re.findall(r"global step (\d+): loss", text)]


def _steps_run(text):
  """(final global step, steps this process ran) from a finished worker."""
  match = re.search(r"Stopping Training: global step (\d+), (\d+) step",
                    text)
  return (int(match.group(1)), int(match.group(2))) if match else None


def _tail(log):
  """The end of a log, without TensorFlow's deprecation chatter."""
  lines = [l for l in log.splitlines()
           if not re.match(r"(W\d{4}|WARNING|Instructions|  )", l)]
  return "\n".join(lines[-40:])[-4000:]


def _checkpoint_step(train_dir):
  latest = tf.train.latest_checkpoint(train_dir)
  return None if latest is None else int(latest.rsplit("-", 1)[1])


class DistributedTrainTest(testing_utils.TinyDataTestCase):

  def _cluster(self, name, steps, *extra, use_tf_config=False,
               drop_input=False):
    self.train_dir = os.path.join(self.root, name)
    env = dict(os.environ)
    env["PYTHONPATH"] = testing_utils.REPO_ROOT + os.pathsep + env.get(
        "PYTHONPATH", "")
    inputs = [] if drop_input else [
        "--input_file_pattern=" + self.paths["train_pattern"]]
    local = launcher.LocalCluster(
        inputs + ["--train_dir=" + self.train_dir,
         "--model_config_file=" + self.config_file,
         "--number_of_steps=%d" % steps, "--log_every_n_steps=1",
         "--cluster_wait_secs=120"] + list(extra),
        os.path.join(self.root, name + "_logs"), num_ps=1, num_workers=2,
        use_tf_config=use_tf_config, env=env)
    self.addCleanup(local.stop, 0)
    return local

  def _wait(self, local, condition, what, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
      if condition():
        return
      time.sleep(0.5)
    logs = "\n".join("--- %s %d:\n%s" % (j, i, _tail(local.read_log(j, i)))
                     for j, i in local.tasks())
    self.fail("Timed out after %d s waiting for %s.\n%s" % (timeout, what,
                                                            logs))

  def _worker_steps(self, local, index):
    return _logged_steps(_last_run(local.read_log(WORKER, index)))

  def _finished(self, local, timeout=400):
    codes = local.wait_for_workers(timeout)
    logs = {i: local.read_log(WORKER, i) for i in codes}
    self.assertEqual(codes, {0: 0, 1: 0}, "\n".join(
        "--- worker %d:\n%s" % (i, _tail(logs[i])) for i in logs))
    # The parameter server exits by itself once both workers are done.
    self.assertEqual(local.wait(PS, 0, timeout=60), 0)
    return logs

  def testAsynchronousTrainingThenEvaluate(self):
    local = self._cluster("async", 30)
    local.start_all()
    logs = self._finished(local)
    for index in (0, 1):
      self.assertTrue(_logged_steps(logs[index]), "worker %d ran no step"
                      % index)
    self.assertGreaterEqual(_checkpoint_step(self.train_dir), 30)
    # Only the chief wrote: one events file, the configs, the checkpoints.
    events = [f for f in os.listdir(self.train_dir) if "tfevents" in f]
    self.assertEqual(len(events), 1)
    self.assertIn("Restoring parameters from", logs[0])
    self.assertNotIn("Restoring parameters from", logs[1])
    # The chief's checkpoint is a single-process one: evaluate reads it.
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=" + self.train_dir,
        "--eval_dir=" + os.path.join(self.root, "async_eval"),
        "--num_eval_examples=8", "--min_global_step=1", "--run_once"])
    self.assertRegex(result.stderr, r"Perplexity = \d")

  def testPhase1FromCachedFeatures(self):
    # The encoder: the shared model's step-0 checkpoint, given as the
    # Inception checkpoint; the shared cache holds its features (phase 1
    # leaves the encoder as step 0 had it).
    encoder = os.path.join(testing_utils.shared_train_dir(), "model.ckpt-0")
    features = testing_utils.shared_features()
    local = self._cluster(
        "features", 20, "--inception_checkpoint_file=" + encoder,
        "--features_file_pattern=" + os.path.join(
            features, "features-train-?????-of-00002"),
        drop_input=True)
    local.start_all()
    logs = self._finished(local)
    self.assertGreaterEqual(_checkpoint_step(self.train_dir), 20)
    # Only the chief restores the Inception checkpoint, at step 0.
    self.assertIn("Restoring Inception variables from checkpoint file "
                  + encoder, logs[0])
    self.assertNotIn("Restoring Inception variables", logs[1])
    self.assertTrue(_logged_steps(logs[1]))

  def testSynchronousUpdatesAggregateBothWorkers(self):
    target = 12
    local = self._cluster("sync", target, "--sync_replicas",
                          use_tf_config=True)
    local.start_all()
    logs = self._finished(local)
    finals = [_steps_run(logs[i]) for i in (0, 1)]
    self.assertTrue(all(finals), logs)
    self.assertGreaterEqual(_checkpoint_step(self.train_dir), target)
    # Every update takes one gradient from each of the two workers, so the
    # workers run about twice as many steps as the global step advanced
    # (asynchronous training would run as many). Slack: the last
    # round's gradients, dropped when the chief stops.
    runs = sum(f[1] for f in finals)
    self.assertGreaterEqual(runs, 2 * target - 2, finals)
    self.assertLessEqual(runs, 2 * target + 8, finals)

  def testFaultsAndRestarts(self):
    local = self._cluster("faults", 100000, "--save_interval_secs=2")
    local.start_all()
    self._wait(local, lambda: len(self._worker_steps(local, 1)) >= 5,
               "worker 1 to train")

    # A worker killed: the chief continues; restarted, the worker rejoins
    # at the shared global step.
    local.kill(WORKER, 1)
    at_kill = max(self._worker_steps(local, 0) + self._worker_steps(local, 1))
    self._wait(local,
               lambda: max(self._worker_steps(local, 0) or [0]) >= at_kill + 5,
               "the chief to continue without worker 1")
    local.start(WORKER, 1)
    self._wait(local, lambda: self._worker_steps(local, 1), "worker 1 back")
    self.assertGreaterEqual(self._worker_steps(local, 1)[0], at_kill)

    # The chief killed: worker 1 continues; restarted, the chief resumes
    # from its last checkpoint.
    self._wait(local, lambda: (_checkpoint_step(self.train_dir) or 0) > 0,
               "a checkpoint")
    local.kill(WORKER, 0)
    checkpoint = _checkpoint_step(self.train_dir)
    before = len(self._worker_steps(local, 1))
    self._wait(local, lambda: len(self._worker_steps(local, 1)) >= before + 5,
               "worker 1 to continue without the chief")
    local.start(WORKER, 0)
    self._wait(local, lambda: self._worker_steps(local, 0), "the chief back")
    chief = _last_run(local.read_log(WORKER, 0))
    self.assertIn("Restoring parameters from %s/model.ckpt-%d"
                  % (self.train_dir, checkpoint), chief)

    # The parameter server lost: both workers exit with a clear message,
    # within a bounded time.
    local.kill(PS, 0)
    lost = time.time()
    for index in (0, 1):
      self.assertNotEqual(local.wait(WORKER, index, timeout=90), 0)
      self.assertIn("train: error: Lost a server of the cluster",
                    _last_run(local.read_log(WORKER, index)))
    self.assertLess(time.time() - lost, 90)

    # The same commands again: the cluster resumes from the chief's last
    # checkpoint.
    checkpoint = _checkpoint_step(self.train_dir)
    local.start_all()
    self._wait(local, lambda: (self._worker_steps(local, 0) and
                               self._worker_steps(local, 1)),
               "both workers to train after the restart")
    chief = _last_run(local.read_log(WORKER, 0))
    self.assertIn("Restoring parameters from %s/model.ckpt-%d"
                  % (self.train_dir, checkpoint), chief)
    self.assertGreaterEqual(min(self._worker_steps(local, 1)), checkpoint)


class ClusterStartupTest(testing_utils.TinyDataTestCase):

  def _train(self, *args, env=None):
    return testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + os.path.join(self.root, "never"),
        "--model_config_file=" + self.config_file,
        "--number_of_steps=5"] + list(args), env=env, check=False,
                                    timeout=300)

  def testParameterServerUnreachable(self):
    ps_port, worker_port = launcher.free_ports(2)
    start = time.time()
    result = self._train("--ps_hosts=127.0.0.1:%d" % ps_port,
                         "--worker_hosts=127.0.0.1:%d" % worker_port,
                         "--job_name=worker", "--task_index=0",
                         "--cluster_wait_secs=4")
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertIn("Waiting for parameter server(s) /job:ps/task:0 at "
                  "127.0.0.1:%d" % ps_port, result.stderr)
    self.assertIn("did not answer within 4 s (--cluster_wait_secs)",
                  result.stderr)
    self.assertLess(time.time() - start, 200)
    self.assertFalse(os.path.exists(os.path.join(self.root, "never")))

  def _one_line_error(self, result):
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertNotIn("Traceback", result.stderr)
    self.assertFalse(os.path.exists(os.path.join(self.root, "never")))
    return result.stderr.strip().splitlines()[-1]

  def testSomethingElseAtTheParameterServersAddress(self):
    # An HTTP server where --ps_hosts points: refused at once, by address,
    # before the lock, the configs or a step-0 checkpoint are written.
    worker_port, = launcher.free_ports(1)
    with listeners.http_server() as address:
      start = time.time()
      result = self._train("--ps_hosts=" + address,
                           "--worker_hosts=127.0.0.1:%d" % worker_port,
                           "--job_name=worker", "--task_index=0",
                           "--cluster_wait_secs=600")
    self.assertLess(time.time() - start, 200)
    self.assertRegex(self._one_line_error(result),
                     "^train: error: /job:ps/task:0 at %s is not a "
                     "TensorFlow server: something else listens there"
                     % address)

  def testParameterServerPortTaken(self):
    with listeners.silent_listener() as (_, address):
      port = address.rpartition(":")[2]
      result = self._train("--ps_hosts=" + address,
                           "--worker_hosts=127.0.0.1:1",
                           "--job_name=ps", "--task_index=0")
    self.assertEqual(
        self._one_line_error(result),
        "train: error: cannot start the server of /job:ps/task:0 at %s: port "
        "%s is in use by another process: stop it, or give this task another "
        "port in --ps_hosts / TF_CONFIG." % (address, port))

  def testMisconfigurationIsRefusedBeforeAnythingStarts(self):
    result = self._train("--ps_hosts=127.0.0.1:1", "--worker_hosts=127.0.0.1:2",
                         "--job_name=worker", "--task_index=1")
    self.assertEqual(result.returncode, 1)
    self.assertIn("task index 1 is out of range: job 'worker' has 1 task(s)",
                  result.stderr)
    result = self._train(env={"TF_CONFIG": '{"cluster": {"ps": ["h:1"]'})
    self.assertEqual(result.returncode, 1)
    self.assertIn("train: error: TF_CONFIG is not valid JSON", result.stderr)
    self.assertFalse(os.path.exists(os.path.join(self.root, "never")))


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
