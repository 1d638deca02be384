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
"""A training cluster of separate processes on one machine (127.0.0.1).

LocalCluster picks free ports, and runs the same train command for every
task (parameter servers included), differing only in --job_name and
--task_index, or in TF_CONFIG: exactly what a real cluster runs, one
process per machine. Each task writes its output to <log_dir>/<job>-<i>.log
(appended to when the task is restarted). Used by the local_cluster binary
and by the tests, which kill and restart single tasks.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from im2txt.training import cluster

TRAIN_MODULE = "im2txt.train"


def free_ports(count, host="127.0.0.1"):
  """`count` distinct ports that were free a moment ago."""
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket()
      s.bind((host, 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


class LocalCluster(object):
  """Parameter servers and workers as processes of this machine."""

  def __init__(self, train_args, log_dir, num_ps=1, num_workers=2,
               use_tf_config=False, python=None, env=None,
               host="127.0.0.1"):
    """Args:
      train_args: Flags of train common to all tasks (no cluster flags).
      log_dir: Folder of the tasks' log files (created).
      num_ps, num_workers: Number of parameter servers and workers.
      use_tf_config: Describe the cluster in TF_CONFIG instead of flags.
      python: The interpreter (default: this one).
      env: Environment of the tasks (default: this one's).
      host: The address every task listens on.
    """
    if num_ps < 1 or num_workers < 1:
      raise ValueError("A cluster needs at least one parameter server and "
                       "one worker, got %d and %d." % (num_ps, num_workers))
    for arg in train_args:
      name = arg.lstrip("-").split("=")[0]
      if name in ("ps_hosts", "worker_hosts", "job_name", "task_index"):
        raise ValueError("--%s is set by the launcher for each task." % name)
    self.train_args = list(train_args)
    self.log_dir = log_dir
    self.use_tf_config = use_tf_config
    self.python = python or sys.executable
    self.env = dict(os.environ if env is None else env)
    self.env.pop(cluster.TF_CONFIG, None)
    ports = free_ports(num_ps + num_workers, host)
    self.hosts = {
        cluster.PS: ["%s:%d" % (host, p) for p in ports[:num_ps]],
        cluster.WORKER: ["%s:%d" % (host, p) for p in ports[num_ps:]],
    }
    self.processes = {}
    os.makedirs(log_dir, exist_ok=True)

  def tasks(self):
    """[(job, index)] of every task, parameter servers first."""
    return [(job, i) for job in (cluster.PS, cluster.WORKER)
            for i in range(len(self.hosts[job]))]

  def log_path(self, job, index):
    return os.path.join(self.log_dir, "%s-%d.log" % (job, index))

  def command(self, job, index):
    """(argv, env) of one task."""
    argv = [self.python, "-m", TRAIN_MODULE] + self.train_args
    env = dict(self.env)
    if self.use_tf_config:
      env[cluster.TF_CONFIG] = json.dumps({
          "cluster": self.hosts, "task": {"type": job, "index": index}})
    else:
      argv += ["--ps_hosts=" + ",".join(self.hosts[cluster.PS]),
               "--worker_hosts=" + ",".join(self.hosts[cluster.WORKER]),
               "--job_name=" + job, "--task_index=%d" % index]
    return argv, env

  def start(self, job, index):
    """Starts (or restarts) one task; its output goes to its log file."""
    argv, env = self.command(job, index)
    with open(self.log_path(job, index), "ab") as log:
      log.write(("\n=== %s: %s\n" % (time.strftime("%H:%M:%S"),
                                     " ".join(argv))).encode())
      log.flush()
      self.processes[(job, index)] = subprocess.Popen(
          argv, env=env, stdout=log, stderr=subprocess.STDOUT,
          stdin=subprocess.DEVNULL)

  def start_all(self):
    for job, index in self.tasks():
      self.start(job, index)

  def kill(self, job, index, sig=signal.SIGKILL):
    """Kills one task (SIGKILL: as a machine failure would) and waits."""
    process = self.processes[(job, index)]
    if process.poll() is None:
      process.send_signal(sig)
    process.wait()

  def wait(self, job, index, timeout=None):
    """Waits for one task; returns its exit code (raises
    subprocess.TimeoutExpired)."""
    return self.processes[(job, index)].wait(timeout)

  def poll(self, job, index):
    return self.processes[(job, index)].poll()

  def wait_for_workers(self, timeout=None):
    """Waits for every worker; returns {index: exit code}.

    Raises subprocess.TimeoutExpired when `timeout` seconds pass first.
    """
    deadline = None if timeout is None else time.time() + timeout
    codes = {}
    for index in range(len(self.hosts[cluster.WORKER])):
      left = None if deadline is None else max(0.0, deadline - time.time())
      codes[index] = self.wait(cluster.WORKER, index, left)
    return codes

  def stop(self, grace_secs=30, workers_first=False):
    """Waits up to `grace_secs` for the parameter servers to exit by
    themselves (they do when every worker finished), then stops every task
    still running: SIGTERM (train saves a checkpoint and exits), then
    SIGKILL after 30 s (a worker) or 10 s (a parameter server). With
    workers_first, the workers are stopped
    before the parameter servers, which the chief's last save needs.
    Returns the tasks that had to be stopped."""
    deadline = time.time() + grace_secs
    killed = []
    order = sorted(self.processes.items())
    if workers_first:
      order.sort(key=lambda item: (item[0][0] == cluster.PS, item[0]))
    for (job, index), process in order:
      if job == cluster.PS:
        try:
          process.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
          pass
      if process.poll() is None:
        process.terminate()
        try:
          process.wait(30 if job == cluster.WORKER else 10)
        except subprocess.TimeoutExpired:
          process.kill()
          process.wait()
        killed.append((job, index))
    return killed

  def read_log(self, job, index):
    with open(self.log_path(job, index), errors="replace") as f:
      return f.read()


class _Terminated(Exception):
  """SIGTERM reached the launcher."""


def _raise_terminated(unused_signum, unused_frame):
  raise _Terminated()


def run(cluster_, timeout=None, log=print):
  """Starts every task, waits for the workers, stops the parameter servers.

  SIGTERM or Ctrl-C stops the cluster: the workers first (the chief saves a
  checkpoint at its current step), then the parameter servers.

  Returns:
    0 if every worker succeeded, else 1 (also when stopped by a signal).
  """
  previous = None
  if threading.current_thread() is threading.main_thread():
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
  try:
    return _run(cluster_, timeout, log)
  finally:
    if previous is not None:
      signal.signal(signal.SIGTERM, previous)


def _run(cluster_, timeout, log):
  for job, index in cluster_.tasks():
    log("Starting %s %d at %s; log: %s" % (
        job, index, cluster_.hosts[job][index],
        cluster_.log_path(job, index)))
  cluster_.start_all()
  try:
    codes = cluster_.wait_for_workers(timeout)
  except subprocess.TimeoutExpired:
    log("The workers did not finish within %d s; stopping the cluster."
        % timeout)
    cluster_.stop(grace_secs=0)
    return 1
  except (KeyboardInterrupt, _Terminated) as e:
    log("%s; stopping the cluster, the workers first." % (
        "Terminated" if isinstance(e, _Terminated) else "Interrupted"))
    for job, index in cluster_.stop(grace_secs=0, workers_first=True):
      log("%s %d stopped." % (job, index))
    return 1
  killed = cluster_.stop()
  for index, code in sorted(codes.items()):
    log("worker %d exited with %d%s" % (
        index, code, "" if code == 0 else " (see %s)" %
        cluster_.log_path(cluster.WORKER, index)))
  for job, index in killed:
    log("%s %d was still running and was stopped." % (job, index))
  return 0 if all(code == 0 for code in codes.values()) else 1
