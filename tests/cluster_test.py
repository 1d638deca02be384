"""Cluster descriptions: flags, TF_CONFIG, and what is refused."""

import json
import re
import tempfile
import unittest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.training import cluster
from im2txt import configuration
from im2txt.training import launcher
from im2txt.training import model_deploy
from im2txt.training import builder
from tests import listeners
from tests import testing_utils

PS = "127.0.0.1:2000"
WORKERS = "127.0.0.1:2001,127.0.0.1:2002"


def _tf_config(cluster_jobs, task_type, index):
  return {cluster.TF_CONFIG: json.dumps(
      {"cluster": cluster_jobs, "task": {"type": task_type, "index": index}})}


class ResolveTest(unittest.TestCase):

  def testNoClusterIsOneProcess(self):
    self.assertIsNone(cluster.resolve("", "", "", 0, {}))

  def testFromFlags(self):
    task = cluster.resolve(PS, WORKERS, "worker", 1, {})
    self.assertEqual(task.jobs, {"ps": [PS], "worker": WORKERS.split(",")})
    self.assertFalse(task.is_chief)
    self.assertEqual(task.device, "/job:worker/task:1")
    self.assertEqual(task.num_workers, 2)
    self.assertEqual(task.device_filters(), ["/job:ps", "/job:worker/task:1"])
    self.assertTrue(cluster.resolve(PS, WORKERS, "worker", 0, {}).is_chief)
    self.assertFalse(cluster.resolve(PS, WORKERS, "ps", 0, {}).is_chief)

  def testFromTfConfigWithChief(self):
    jobs = {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"], "ps": ["h3:1"]}
    chief = cluster.resolve("", "", "", 0, _tf_config(jobs, "chief", 0))
    self.assertTrue(chief.is_chief)
    self.assertEqual(chief.num_workers, 3)
    worker0 = cluster.resolve("", "", "", 0, _tf_config(jobs, "worker", 0))
    self.assertFalse(worker0.is_chief)
    self.assertEqual(worker0.address, "h1:1")

  def _refused(self, pattern, *args, environ=None):
    with self.assertRaisesRegex(cluster.ClusterConfigError, pattern):
      cluster.resolve(*args, environ or {})

  def testTaskIndexOutOfRange(self):
    self._refused(r"task index 2 is out of range: job 'worker' has 2 "
                  r"task\(s\), indices 0 to 1", PS, WORKERS, "worker", 2)
    self._refused("task index -1 is out of range", PS, WORKERS, "worker", -1)
    self._refused("task index 1 is out of range", PS, WORKERS, "ps", 1)

  def testUnknownJobName(self):
    self._refused("unknown job name 'boss': expected one of ps, worker, chief",
                  PS, WORKERS, "boss", 0)
    self._refused("--job_name is required", PS, WORKERS, "", 0)

  def testMalformedTfConfig(self):
    self._refused("TF_CONFIG is not valid JSON", "", "", "", 0,
                  environ={cluster.TF_CONFIG: "{cluster: "})
    self._refused("needs a \"cluster\" object", "", "", "", 0,
                  environ={cluster.TF_CONFIG: json.dumps({"task": {}})})
    self._refused("unknown job 'evaluator'", "", "", "", 0,
                  environ=_tf_config({"evaluator": ["h:1"], "ps": ["h:2"],
                                      "worker": ["h:3"]}, "worker", 0))
    self._refused("'h1' in the worker hosts is not host:port", "", "", "", 0,
                  environ=_tf_config({"ps": ["h0:1"], "worker": ["h1"]},
                                     "worker", 0))
    self._refused("task index 3 is out of range", "", "", "", 0,
                  environ=_tf_config({"ps": ["h0:1"], "worker": ["h1:1"]},
                                     "worker", 3))
    for index in ("first", 0.5, True, None, [0]):
      self._refused(r"TF_CONFIG: the task index must be a whole number \(0 "
                    r"for the first task of its job\), got %s"
                    % re.escape(repr(index)), "", "", "", 0,
                    environ=_tf_config({"ps": ["h0:1"], "worker": ["h1:1"]},
                                       "worker", index))

  def testTfConfigTaskIndexAsAString(self):
    # Quoted, as some templates write every value: read as the number
    # (before, "0" was refused as "out of range: ... indices 0 to 0").
    jobs = {"ps": ["h0:1"], "worker": ["h1:1", "h2:1"]}
    task = cluster.resolve("", "", "", 0, _tf_config(jobs, "worker", "1"))
    self.assertEqual((task.job_name, task.task_index), ("worker", 1))
    self.assertEqual(task.address, "h2:1")
    self._refused("task index 2 is out of range", "", "", "", 0,
                  environ=_tf_config(jobs, "worker", " 2"))

  def testInconsistentClusters(self):
    self._refused("Both the cluster flags and TF_CONFIG", PS, WORKERS,
                  "worker", 0, environ=_tf_config(
                      {"ps": ["h0:1"], "worker": ["h1:1"]}, "worker", 0))
    self._refused("no parameter server", "", WORKERS, "worker", 0)
    self._refused("has no worker", PS, "", "ps", 0)
    self._refused("127.0.0.1:2000 listed twice", PS, PS + ",127.0.0.1:2001",
                  "worker", 0)
    self._refused("at most one chief", "", "", "", 0, environ=_tf_config(
        {"chief": ["h0:1", "h1:1"], "ps": ["h2:1"]}, "chief", 0))


class ClusterGraphTest(tf.test.TestCase):
  """The graph a worker builds: variables on the parameter servers, the
  rest on the worker, unseeded input shuffling."""

  def testPlacement(self):
    task = cluster.resolve("127.0.0.1:1,127.0.0.1:2", WORKERS, "worker", 1, {})
    deploy = model_deploy.deploy_config(
        worker_device=task.device, num_ps_tasks=task.num_ps,
        cluster=task.cluster_spec())
    config = testing_utils.tiny_model_config()
    folder = tempfile.mkdtemp()
    config.input_file_pattern = folder + "/train-*"
    for i in range(2):
      testing_utils.write_caption_records(
          "%s/train-%d" % (folder, i), [(i, ["a", "b", "c"])])
    built = builder.build_training_graph(
        config, configuration.TrainingConfig(), train_inception=False,
        deploy=deploy, sync=builder.SyncSettings(2, 2))
    with built.graph.as_default():
      variables = tf.global_variables()
    # Round robin over both parameter servers (the word embedding on the
    # CPU of its server, as the model asks).
    ps_devices = {v.device.replace("/device:CPU:0", "") for v in variables}
    self.assertEqual(ps_devices, {"/job:ps/task:0", "/job:ps/task:1"})
    ops = built.graph.get_operations()
    queues = [op for op in ops if op.type in ("RandomShuffleQueueV2",
                                              "PaddingFIFOQueueV2")]
    self.assertTrue(queues)
    for op in queues:
      self.assertTrue(op.device.startswith("/job:worker/task:1"), op.name)
    # The filename shuffle has no fixed seed: each worker (and each restart)
    # reads the shards in its own order.
    shuffles = [op for op in ops if op.type == "RandomShuffle"]
    self.assertTrue(shuffles)
    for op in shuffles:
      self.assertEqual((op.get_attr("seed"), op.get_attr("seed2")), (0, 0))
    self.assertIsNotNone(built.sync_optimizer)


class LauncherTest(unittest.TestCase):

  def testCommandsDifferOnlyInTheTask(self):
    local = launcher.LocalCluster(["--train_dir=/x", "--number_of_steps=5"],
                                  self._tmp(), num_ps=1, num_workers=2)
    commands = [local.command(job, i)[0] for job, i in local.tasks()]
    self.assertEqual(len(commands), 3)
    common = [c[:-4] for c in commands]
    self.assertEqual(common[0], common[1])
    self.assertEqual(common[1], common[2])
    self.assertEqual([c[-2:] for c in commands],
                     [["--job_name=ps", "--task_index=0"],
                      ["--job_name=worker", "--task_index=0"],
                      ["--job_name=worker", "--task_index=1"]])
    ports = [h.rsplit(":", 1)[1] for hosts in local.hosts.values()
             for h in hosts]
    self.assertEqual(len(set(ports)), 3)

  def testTfConfigMode(self):
    local = launcher.LocalCluster(["--train_dir=/x"], self._tmp(),
                                  use_tf_config=True)
    argv, env = local.command("worker", 1)
    self.assertFalse([a for a in argv if "hosts" in a])
    task = cluster.resolve("", "", "", 0, env)
    self.assertEqual((task.job_name, task.task_index), ("worker", 1))

  def testClusterFlagsAreTheLaunchers(self):
    with self.assertRaisesRegex(ValueError, "--task_index is set by the "
                                "launcher"):
      launcher.LocalCluster(["--task_index=1"], self._tmp())

  def _tmp(self):
    return tempfile.mkdtemp()


class ProbeTest(unittest.TestCase):
  """What answers at a parameter server's address, on real sockets."""

  def testTensorFlowServer(self):
    port, = launcher.free_ports(1)
    address = "127.0.0.1:%d" % port
    task = cluster.from_flags(address, "127.0.0.1:1", "ps", 0)
    cluster.start_server(task)  # Lives until the test process ends.
    self.assertEqual(cluster.probe(address)[0], cluster.TENSORFLOW)
    # Its port is now taken: a second server there fails by name.
    with self.assertRaisesRegex(
        cluster.ServerStartError,
        r"^cannot start the server of /job:ps/task:0 at 127.0.0.1:%d: port "
        r"%d is in use by another process: stop it, or give this task "
        r"another port in --ps_hosts / TF_CONFIG\.$" % (port, port)):
      cluster.start_server(task)

  def testNothingListening(self):
    port, = launcher.free_ports(1)
    self.assertEqual(cluster.probe("127.0.0.1:%d" % port)[0], cluster.DOWN)

  def testHttpServerIsNotTensorFlow(self):
    with listeners.http_server() as address:
      state, detail = cluster.probe(address)
    self.assertEqual(state, cluster.OTHER)
    self.assertIn("UNAVAILABLE", detail)

  def testSilentListener(self):
    with listeners.silent_listener() as (_, address):
      self.assertEqual(cluster.probe(address, timeout_secs=0.5)[0],
                       cluster.SILENT)

  def _ps_task(self, address):
    return cluster.from_flags(address, "127.0.0.1:1", "worker", 0)

  def testWaitRefusesSomethingElseAtOnce(self):
    with listeners.http_server() as address:
      with self.assertRaisesRegex(
          cluster.ClusterUnreachableError,
          "/job:ps/task:0 at %s is not a TensorFlow server: something else "
          "listens there" % address):
        cluster.wait_for_parameter_servers(self._ps_task(address), 600,
                                           lambda message: None)

  def testWaitGivesUpOnASilentListener(self):
    with listeners.silent_listener() as (_, address):
      with self.assertRaisesRegex(
          cluster.ClusterUnreachableError,
          "/job:ps/task:0 at %s accept connections but did not answer as "
          "TensorFlow servers within 1 s" % address):
        cluster.wait_for_parameter_servers(self._ps_task(address), 1,
                                           lambda message: None,
                                           poll_secs=0.1)


if __name__ == "__main__":
  unittest.main()
