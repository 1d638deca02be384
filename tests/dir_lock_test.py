"""The directory lock: exclusive under racing processes, stale and garbage
lock files taken over, the owner named."""

import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from im2txt.common import dir_lock

NAME = ".test.lock"
RACERS = 8
TRIALS = 30
HOLD_SECS = 0.02


def _dead_pid():
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  return dead.pid


# What each trial finds in the directory before the racers start.
SCENARIOS = (
    ("empty directory", None),
    ("stale lock of a dead process",
     lambda: json.dumps({"pid": _dead_pid(), "host": socket.gethostname()})),
    ("empty lock file", lambda: ""),
    ("JSON list", lambda: json.dumps([1, 2])),
    ("pid that is not a number",
     lambda: json.dumps({"pid": "abc", "host": socket.gethostname()})),
)


def _racer(directory, barrier, log_path):
  """Races for the lock once per trial; logs 'pid start end' when it won."""
  for _ in range(TRIALS):
    barrier.wait()  # The parent has set the trial up.
    lock = dir_lock.DirectoryLock(directory, NAME, log=lambda _: None)
    try:
      lock.acquire()
    except dir_lock.LockError:
      pass
    else:
      start = time.monotonic()
      time.sleep(HOLD_SECS)
      end = time.monotonic()
      lock.release()
      fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
      os.write(fd, ("%d %.6f %.6f\n" % (os.getpid(), start, end)).encode())
      os.close(fd)
    barrier.wait()  # Everyone is done with this trial.


class RacingProcessesTest(unittest.TestCase):

  def testOneOwnerAtATimeWhateverTheLockFileHolds(self):
    root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, root)
    directory = os.path.join(root, "train")
    os.makedirs(directory)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS + 1)
    logs = [os.path.join(root, "trial-%d.log" % t) for t in range(TRIALS)]
    trial_log = os.path.join(root, "current.log")
    racers = [context.Process(target=_racer,
                              args=(directory, barrier, trial_log))
              for _ in range(RACERS)]
    for racer in racers:
      racer.start()
    try:
      for trial in range(TRIALS):
        name, content = SCENARIOS[trial % len(SCENARIOS)]
        path = os.path.join(directory, NAME)
        if content is not None:
          with open(path, "w") as f:
            f.write(content())
        barrier.wait(timeout=60)
        barrier.wait(timeout=60)
        if os.path.exists(trial_log):
          os.replace(trial_log, logs[trial])
        else:
          open(logs[trial], "w").close()
        with open(logs[trial]) as f:
          holds = sorted((float(a), float(b)) for _, a, b in
                         (line.split() for line in f))
        self.assertTrue(holds, "nobody took the lock (%s)" % name)
        for (_, end), (start, _) in zip(holds, holds[1:]):
          self.assertLessEqual(end, start, "two owners at once (%s)" % name)
        self.assertFalse(os.path.exists(path), "left behind (%s)" % name)
    finally:
      for racer in racers:
        racer.join(timeout=60)
        if racer.is_alive():
          racer.terminate()
    self.assertEqual([r.exitcode for r in racers], [0] * RACERS)


class OwnerTest(unittest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir)

  def testSecondHolderIsRefusedNamingTheOwner(self):
    with dir_lock.DirectoryLock(self.dir, NAME):
      with open(os.path.join(self.dir, NAME)) as f:
        self.assertEqual(json.load(f)["pid"], os.getpid())
      with self.assertRaisesRegex(dir_lock.LockError,
                                  "in use by another run: pid %d on host %s"
                                  % (os.getpid(), socket.gethostname())):
        dir_lock.DirectoryLock(self.dir, NAME).acquire()
    # Released: the file is gone and the lock can be taken again.
    self.assertFalse(os.path.exists(os.path.join(self.dir, NAME)))
    with dir_lock.DirectoryLock(self.dir, NAME):
      pass

  def testGarbageLockFilesAreTakenOverAndLogged(self):
    for content in ("", "[1, 2]", '{"pid": "abc"}', "not json", "\xff"):
      with open(os.path.join(self.dir, NAME), "w") as f:
        f.write(content)
      messages = []
      with dir_lock.DirectoryLock(self.dir, NAME, log=messages.append):
        pass
      self.assertEqual(len(messages), 1 if content.strip() else 0, content)
      if messages:
        self.assertIn("Taking over the stale lock", messages[0])
    self.assertEqual(dir_lock.parse_owner("[1, 2]"), None)
    self.assertEqual(dir_lock.parse_owner('{"pid": 3}'), {"pid": 3})


if __name__ == "__main__":
  unittest.main()
