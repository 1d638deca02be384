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
"""An advisory lock on a directory, so that two runs do not share it.

Two trainers on one train_dir, or two builders on one output_dir, would
interleave their checkpoints or shards without an error. A run holds the
lock file ``<dir>/<name>``, which records its pid, host, start time and
command line; a second run is refused with a message naming that owner.

On a local (or NFS) file system the lock is the kernel's: an exclusive
``flock`` on the lock file, taken without waiting. Taking it is atomic, so
of any number of runs starting at once exactly one gets it, and it ends
with its process: a lock file left by a run that died (kill -9, a lost
machine) holds no lock and is taken over, with a log line, whatever it
contains. The owner removes the file when the run ends (also on an
exception or Ctrl-C); a run that opened the file just before it was
removed notices (the path no longer names the file it locked) and tries
again.

On a bucket (gs://...) there is no such lock: the file is checked and
written, best effort, and a file whose owner (same host) is gone is stale.
"""

import datetime
import fcntl
import json
import os
import socket
import sys

from im2txt.common import file_io


class LockError(RuntimeError):
  """The directory is locked by another live run."""


# Attempts before giving up on a lock file that keeps being replaced.
_ATTEMPTS = 20


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # It exists, owned by someone else.
  return True


def parse_owner(text):
  """The owner dict a lock file's text records, or None for anything else
  (empty, half written, not JSON, a JSON list...)."""
  try:
    owner = json.loads(text)
  except ValueError:
    return None
  return owner if isinstance(owner, dict) else None


def _owner_pid(owner):
  try:
    return int(owner.get("pid"))
  except (TypeError, ValueError):
    return None


class DirectoryLock(object):
  """Context manager holding `<directory>/<name>` while a run uses it."""

  def __init__(self, directory, name, log=None):
    """Args:
      directory: The directory to lock (created if missing).
      name: The lock file's name, e.g. ".train.lock".
      log: Optional function(str) for the stale-lock message.
    """
    self.directory = directory
    self.path = file_io.join(directory, name)
    self._log = log or (lambda message: print(message, file=sys.stderr))
    self._held = False
    self._fd = None

  def _owner_info(self):
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)}

  def _owner_json(self):
    return json.dumps(self._owner_info(), indent=2).encode("utf-8")

  def _read_owner(self):
    try:
      return parse_owner(file_io.read_text(self.path))
    except (OSError, UnicodeDecodeError):
      return None  # Vanished, or unreadable.

  def _in_use(self, owner):
    if owner is None:
      who = "a run that has not recorded itself yet"
    else:
      who = "pid %s on host %s since %s (%s)" % (
          owner.get("pid"), owner.get("host"), owner.get("started"),
          owner.get("command"))
    return LockError(
        "%s is in use by another run: %s. Wait for it to finish or stop "
        "it; if that process no longer exists, delete %s."
        % (self.directory, who, self.path))

  # -- Local and NFS file systems: flock. ----------------------------------

  def _acquire_flock(self):
    for _ in range(_ATTEMPTS):
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        os.close(fd)
        raise self._in_use(self._read_owner())
      try:
        current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
      except FileNotFoundError:
        current = False
      if not current:
        # Its owner removed it between our open and flock: a new file.
        os.close(fd)
        continue
      previous = os.read(fd, 1 << 16).decode("utf-8", "replace")
      if previous.strip():
        self._log("Taking over the stale lock %s of a run that is gone "
                  "(%s)" % (self.path, parse_owner(previous) or
                            "unreadable: %r" % previous[:100]))
      os.lseek(fd, 0, os.SEEK_SET)
      os.ftruncate(fd, 0)
      os.write(fd, self._owner_json())
      os.fsync(fd)
      self._fd = fd
      return
    raise LockError("Could not take the lock %s (it keeps being replaced)."
                    % self.path)

  def _release_flock(self):
    try:
      if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
        os.remove(self.path)
    except OSError:
      pass
    os.close(self._fd)  # Releases the flock.
    self._fd = None

  # -- Buckets: best effort. ---------------------------------------------------

  def _is_stale(self, owner):
    if owner is None:
      return True
    if owner.get("host") != socket.gethostname():
      return False  # Cannot tell; only its owner's host can.
    pid = _owner_pid(owner)
    return pid is None or not _pid_alive(pid)

  def _acquire_best_effort(self):
    for _ in range(3):
      if not file_io.exists(self.path):
        file_io.write_atomically(self.path, self._owner_json())
        return
      owner = self._read_owner()
      if not self._is_stale(owner):
        raise self._in_use(owner)
      self._log("Removing the stale lock %s of a run that is gone (%s)"
                % (self.path, owner))
      try:
        file_io.remove(self.path)
      except OSError:
        pass  # Another run removed it first; try again.
    raise LockError("Could not take the lock %s (it keeps reappearing)."
                    % self.path)

  def acquire(self):
    """Takes the lock.

    Raises:
      LockError: If another live run holds it; the message names it.
    """
    file_io.makedirs(self.directory)
    if file_io.is_local(self.path):
      self._acquire_flock()
    else:
      self._acquire_best_effort()
    self._held = True
    return self

  def release(self):
    """Removes the lock file if this run holds it."""
    if not self._held:
      return
    self._held = False
    if self._fd is not None:
      self._release_flock()
      return
    owner = self._read_owner()
    if owner is not None and _owner_pid(owner) == os.getpid():
      try:
        file_io.remove(self.path)
      except OSError:
        pass

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *unused_exc):
    self.release()
