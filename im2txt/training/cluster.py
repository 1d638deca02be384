# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
"""The cluster a training process belongs to, on TensorFlow's runtime.

Between-graph replication, as TensorFlow 1.x ran it: parameter servers
("ps") hold the variables, each worker builds its own copy of the training
graph and runs it against its own tf.train.Server. The cluster comes from
flags (--ps_hosts, --worker_hosts, --job_name, --task_index) or from the
standard TF_CONFIG environment variable:

  {"cluster": {"chief": ["h0:2222"], "worker": ["h1:2222"],
               "ps": ["h2:2222"]},
   "task": {"type": "worker", "index": 0}}

The chief is the "chief" task when the cluster has one, else worker 0; it
alone initialises or restores the variables, saves checkpoints and writes
summaries. Everything is checked before a server starts
(ClusterConfigError names the problem).

A parameter server runs until every worker has finished: each worker puts
a token in a queue on each parameter server when it ends
(done_token_ops), and the parameter server exits once it has one per
worker (run_parameter_server).
"""

import collections
import errno
import json
import socket
import time

import grpc
import tensorflow.compat.v1 as tf

PS = "ps"
WORKER = "worker"
CHIEF = "chief"
JOBS = (PS, WORKER, CHIEF)

# Name of the TF_CONFIG environment variable.
TF_CONFIG = "TF_CONFIG"

# Shared name of parameter server i's queue of finished-worker tokens.
_DONE_QUEUE = "im2txt_workers_done_ps%d"


class ClusterConfigError(ValueError):
  """The cluster description is unusable (flags or TF_CONFIG)."""


class ClusterUnreachableError(RuntimeError):
  """Parameter servers did not answer within the wait, or something other
  than a TensorFlow server answers at their address."""


class ServerStartError(RuntimeError):
  """This task's own server could not start (its port taken, say)."""


# What probe() finds at an address.
DOWN = "down"              # Nothing accepts connections (yet).
TENSORFLOW = "tensorflow"  # A TensorFlow server answered.
SILENT = "silent"          # Accepts connections, answers nothing.
OTHER = "other"            # Something that is not a TensorFlow server.

# A method every tf.train.Server serves on its port; its request message
# (GetStatusRequest) has no fields, so its encoding is empty.
_STATUS_METHOD = "/tensorflow.WorkerService/GetStatus"


class ClusterTask(collections.namedtuple(
    "ClusterTask", ["jobs", "job_name", "task_index"])):
  """This process's place in a cluster.

  Fields:
    jobs: dict job name -> list of "host:port" (only non-empty jobs).
    job_name: "ps", "worker" or "chief".
    task_index: Index of this task within its job.
  """

  @property
  def is_chief(self):
    if CHIEF in self.jobs:
      return self.job_name == CHIEF
    return self.job_name == WORKER and self.task_index == 0

  @property
  def device(self):
    """This task's device prefix, e.g. "/job:worker/task:1"."""
    return "/job:%s/task:%d" % (self.job_name, self.task_index)

  @property
  def num_ps(self):
    return len(self.jobs.get(PS, []))

  @property
  def num_workers(self):
    """Tasks that train: the chief and the workers."""
    return len(self.jobs.get(CHIEF, [])) + len(self.jobs.get(WORKER, []))

  @property
  def address(self):
    return self.jobs[self.job_name][self.task_index]

  def cluster_spec(self):
    return tf.train.ClusterSpec(self.jobs)

  def device_filters(self):
    """A worker sees the parameter servers and itself only, so that it
    neither waits for nor depends on the other workers."""
    return ["/job:%s" % PS, self.device]

  def describe(self):
    return "%s task %d of %s (%s)" % (
        self.job_name, self.task_index,
        ", ".join("%d %s" % (len(h), j) for j, h in sorted(self.jobs.items())),
        "chief" if self.is_chief else "not chief")


def _parse_hosts(source, job, hosts):
  if isinstance(hosts, str):
    hosts = [h.strip() for h in hosts.split(",") if h.strip()]
  if not isinstance(hosts, list):
    raise ClusterConfigError("%s: the %s hosts must be a list of host:port, "
                             "got %r." % (source, job, hosts))
  for host in hosts:
    name, _, port = str(host).rpartition(":")
    if not name or not port.isdigit() or not 0 < int(port) < 65536:
      raise ClusterConfigError("%s: %r in the %s hosts is not host:port."
                               % (source, host, job))
  return list(hosts)


def _check(source, jobs, job_name, task_index):
  """Checks a cluster description and returns its ClusterTask."""
  all_hosts = [h for hosts in jobs.values() for h in hosts]
  duplicates = sorted(set(h for h in all_hosts if all_hosts.count(h) > 1))
  if duplicates:
    raise ClusterConfigError("%s: %s listed twice: every task needs its own "
                             "host:port." % (source, ", ".join(duplicates)))
  if len(jobs.get(CHIEF, [])) > 1:
    raise ClusterConfigError("%s: a cluster has at most one chief, got %d."
                             % (source, len(jobs[CHIEF])))
  if not jobs.get(WORKER) and not jobs.get(CHIEF):
    raise ClusterConfigError("%s: the cluster has no worker." % source)
  if not jobs.get(PS):
    raise ClusterConfigError(
        "%s: the cluster has no parameter server (ps); between-graph "
        "training keeps its variables on them. For one machine, use "
        "--num_clones instead of a cluster." % source)
  if job_name not in JOBS:
    raise ClusterConfigError("%s: unknown job name %r: expected one of %s."
                             % (source, job_name, ", ".join(JOBS)))
  if job_name not in jobs:
    raise ClusterConfigError("%s: this task's job %r has no hosts in the "
                             "cluster." % (source, job_name))
  if (not isinstance(task_index, int) or
      not 0 <= task_index < len(jobs[job_name])):
    raise ClusterConfigError(
        "%s: task index %r is out of range: job %r has %d task(s), "
        "indices 0 to %d." % (source, task_index, job_name,
                              len(jobs[job_name]), len(jobs[job_name]) - 1))
  return ClusterTask(jobs, job_name, task_index)


def from_flags(ps_hosts, worker_hosts, job_name, task_index):
  """The ClusterTask of the cluster flags, or None if none is given."""
  if not (ps_hosts or worker_hosts or job_name):
    return None
  source = "--ps_hosts/--worker_hosts/--job_name/--task_index"
  jobs = {}
  if ps_hosts:
    jobs[PS] = _parse_hosts("--ps_hosts", PS, ps_hosts)
  if worker_hosts:
    jobs[WORKER] = _parse_hosts("--worker_hosts", WORKER, worker_hosts)
  if not job_name:
    raise ClusterConfigError("%s: --job_name is required in a cluster (ps or "
                             "worker)." % source)
  return _check(source, jobs, job_name, task_index)


def from_tf_config(text):
  """The ClusterTask of a TF_CONFIG value."""
  source = "TF_CONFIG"
  try:
    config = json.loads(text)
  except ValueError as e:
    raise ClusterConfigError("TF_CONFIG is not valid JSON: %s" % e)
  if not isinstance(config, dict) or not isinstance(
      config.get("cluster"), dict) or not isinstance(config.get("task"), dict):
    raise ClusterConfigError(
        "TF_CONFIG needs a \"cluster\" object (job -> list of host:port) "
        "and a \"task\" object ({\"type\": ..., \"index\": ...}), got %r."
        % (text[:200],))
  jobs = {}
  for job, hosts in config["cluster"].items():
    if job not in JOBS:
      raise ClusterConfigError(
          "TF_CONFIG: unknown job %r in the cluster: train runs %s (run "
          "evaluate as its own process, without a TF_CONFIG task)."
          % (job, ", ".join(JOBS)))
    if hosts:
      jobs[job] = _parse_hosts(source, job, hosts)
  task = config["task"]
  return _check(source, jobs, task.get("type"),
                _tf_config_index(task.get("index", 0)))


def _tf_config_index(index):
  """TF_CONFIG's task index as an int: a number, or a string of digits
  (templates that write every value quoted, as TensorFlow reads them)."""
  if isinstance(index, str) and index.strip().isdigit():
    return int(index)
  if isinstance(index, bool) or not isinstance(index, int):
    raise ClusterConfigError(
        "TF_CONFIG: the task index must be a whole number (0 for the first "
        "task of its job), got %r." % (index,))
  return index


def resolve(ps_hosts, worker_hosts, job_name, task_index, environ):
  """The ClusterTask from the flags or TF_CONFIG (never both), or None for
  a single process."""
  from_env = environ.get(TF_CONFIG, "").strip()
  flagged = from_flags(ps_hosts, worker_hosts, job_name, task_index)
  if flagged is not None and from_env:
    raise ClusterConfigError(
        "Both the cluster flags and TF_CONFIG describe a cluster: give one "
        "(unset TF_CONFIG, or drop --ps_hosts/--worker_hosts/--job_name).")
  if flagged is not None:
    return flagged
  if from_env:
    return from_tf_config(from_env)
  return None


def probe(address, timeout_secs=2.0):
  """(state, detail): whether a TensorFlow server answers at "host:port".

  state is DOWN, TENSORFLOW, SILENT or OTHER; detail says what was seen.
  """
  host, _, port = address.rpartition(":")
  try:
    socket.create_connection((host, int(port)), timeout=timeout_secs).close()
  except OSError as e:
    return DOWN, str(e)
  channel = grpc.insecure_channel(address)
  try:
    # Raw bytes in and out: no serializer is needed for an empty request.
    channel.unary_unary(_STATUS_METHOD)(b"", timeout=timeout_secs)
    return TENSORFLOW, ""
  except grpc.RpcError as e:
    code = e.code()  # pylint: disable=no-member
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
      return SILENT, "no answer within %.0f s" % timeout_secs
    return OTHER, "%s: %s" % (code.name, e.details())  # pylint: disable=no-member
  finally:
    channel.close()


def wait_for_parameter_servers(task, timeout_secs, log, poll_secs=1.0):
  """Waits until a TensorFlow server answers at every parameter server's
  address.

  Logs what it waits for every ~10 s. Raises ClusterUnreachableError after
  `timeout_secs`, and at once when something other than a TensorFlow
  server answers at an address (a TensorFlow server answers as soon as it
  accepts connections).
  """
  deadline = time.time() + timeout_secs
  last_log = 0
  while True:
    missing, silent = [], []
    for index, address in enumerate(task.jobs[PS]):
      name = "/job:ps/task:%d at %s" % (index, address)
      state, detail = probe(address)
      if state == OTHER:
        raise ClusterUnreachableError(
            "%s is not a TensorFlow server: something else listens there "
            "(it answered %s). Check --ps_hosts / TF_CONFIG: each "
            "parameter server is the same train command with "
            "--job_name=ps." % (name, detail))
      if state == SILENT:
        silent.append(name)
      if state != TENSORFLOW:
        missing.append(name)
    if not missing:
      return
    now = time.time()
    if now >= deadline:
      if silent:
        raise ClusterUnreachableError(
            "The parameter server(s) %s accept connections but did not "
            "answer as TensorFlow servers within %d s (--cluster_wait_secs):"
            " check --ps_hosts / TF_CONFIG, each one the same train command "
            "with --job_name=ps." % (", ".join(silent), timeout_secs))
      raise ClusterUnreachableError(
          "The parameter server(s) %s did not answer within %d s "
          "(--cluster_wait_secs). Start them (the same train command with "
          "--job_name=ps), or check --ps_hosts / TF_CONFIG and the network."
          % (", ".join(missing), timeout_secs))
    if now - last_log >= 10:
      log("Waiting for parameter server(s) %s (%d s left of "
          "--cluster_wait_secs)." % (", ".join(missing), deadline - now))
      last_log = now
    time.sleep(poll_secs)


def _port_in_use(port):
  """Whether another process holds `port` (as a server binds it: on all
  interfaces)."""
  probe_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  try:
    probe_socket.bind(("", port))
    return False
  except OSError as e:
    return e.errno == errno.EADDRINUSE
  finally:
    probe_socket.close()


def start_server(task):
  """Starts this task's tf.train.Server.

  Raises:
    ServerStartError: naming the address and, when it is so, that its
      port is taken.
  """
  config = None
  if task.job_name != PS:
    config = tf.ConfigProto(device_filters=task.device_filters())
  try:
    return tf.train.Server(task.cluster_spec(), job_name=task.job_name,
                           task_index=task.task_index, config=config)
  except tf.errors.OpError as e:
    port = task.address.rpartition(":")[2]
    cause = e.message.strip().splitlines()[0] if e.message else type(e).__name__
    if port.isdigit() and _port_in_use(int(port)):
      where = ("--%s_hosts / TF_CONFIG" % task.job_name
               if task.job_name in (PS, WORKER) else "TF_CONFIG")
      cause = ("port %s is in use by another process: stop it, or give "
               "this task another port in %s" % (port, where))
    raise ServerStartError("cannot start the server of %s at %s: %s."
                           % (task.device, task.address, cause)) from e


def _done_queue(ps_index, num_workers):
  with tf.device("/job:%s/task:%d" % (PS, ps_index)):
    return tf.FIFOQueue(num_workers, tf.int32, shapes=[[]],
                        shared_name=_DONE_QUEUE % ps_index,
                        name="workers_done_ps%d" % ps_index)


def done_token_ops(task):
  """Ops a worker runs when it has finished: one token to each parameter
  server's queue (build them before the graph is finalized)."""
  return [_done_queue(i, task.num_workers).enqueue(task.task_index)
          for i in range(task.num_ps)]


def run_parameter_server(task, server, log):
  """Serves the variables until every worker has put its done token."""
  graph = tf.Graph()
  with graph.as_default():
    dequeue = _done_queue(task.task_index, task.num_workers).dequeue()
  log("Parameter server %s ready at %s; it exits when the %d worker(s) "
      "have finished." % (task.device, task.address, task.num_workers))
  config = tf.ConfigProto(device_filters=[task.device])
  with tf.Session(server.target, graph=graph, config=config) as sess:
    for count in range(task.num_workers):
      sess.run(dequeue)
      log("%d of %d worker(s) finished." % (count + 1, task.num_workers))
