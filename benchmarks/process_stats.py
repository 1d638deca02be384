# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""Runs a command and measures its wall time and its process tree's memory.

The peak is of the resident memory (VmRSS) of the process and all its
descendants, summed, sampled every 0.1 s from /proc (Linux): what a machine
must have for the whole job, worker processes included.
"""

import os
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def tree_rss_mb(pid):
  """Resident memory of a process and all its descendants, in MB."""
  children = {}
  for entry in os.listdir("/proc"):
    if not entry.isdigit():
      continue
    try:
      with open("/proc/%s/stat" % entry) as f:
        fields = f.read().rsplit(")", 1)[1].split()
      children.setdefault(int(fields[1]), []).append(int(entry))
    except (OSError, IndexError, ValueError):
      continue
  total, stack = 0, [pid]
  while stack:
    p = stack.pop()
    stack.extend(children.get(p, []))
    try:
      with open("/proc/%d/status" % p) as f:
        for line in f:
          if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    except OSError:
      pass
  return total / 1024.0


def run(argv, interval=0.1, env=None):
  """Runs argv (the project on PYTHONPATH, TensorFlow's C++ logs quiet;
  `env`: more variables for the child, this process's left alone).

  Returns:
    (seconds, peak tree MB, combined stdout and stderr). Exits with the
    output's tail if the command fails.
  """
  child_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get("PYTHONPATH", ""), **(env or {}))
  start = time.perf_counter()
  proc = subprocess.Popen(argv, env=child_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
  peak = [0.0]
  done = threading.Event()

  def poll():
    while not done.is_set():
      peak[0] = max(peak[0], tree_rss_mb(proc.pid))
      done.wait(interval)

  poller = threading.Thread(target=poll, daemon=True)
  poller.start()
  output = proc.communicate()[0]
  seconds = time.perf_counter() - start
  done.set()
  poller.join()
  if proc.returncode:
    sys.exit("%s failed:\n%s" % (" ".join(argv), output[-4000:]))
  return seconds, peak[0], output


def run_module(module, *args, env=None):
  """run() of `python -m module args` with this interpreter."""
  return run([sys.executable, "-m", module] + list(args), env=env)
