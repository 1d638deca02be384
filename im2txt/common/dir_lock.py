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
interleave their checkpoints or shards without an error. A run takes the
lock by creating ``<dir>/<name>`` exclusively, holding JSON with its pid,
host, start time and command line; a second run finds it and is refused
with a message naming the owner. A lock whose owner is gone (same host, no
such process) is stale: it is taken over, with a log line. The lock file is
removed when the run ends (also on an exception or Ctrl-C; after kill -9 it
is left behind and found stale by the next run).

On a local file system the creation is atomic. On a bucket (gs://...) it is
best effort: the lock is checked and written, not created atomically.
"""

import datetime
import json
import os
import socket
import sys

from im2txt.common import file_io


class LockError(RuntimeError):
  """The directory is locked by another live run."""


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # It exists, owned by someone else.
  return True


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

  def _owner_info(self):
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)}

  def _read_owner(self):
    try:
      return json.loads(file_io.read_text(self.path))
    except (OSError, ValueError):
      return None  # Vanished, or half written by a dying process.

  def _is_stale(self, owner):
    if owner is None:
      return True
    if owner.get("host") != socket.gethostname():
      return False  # Cannot tell; only its owner's host can.
    return not _pid_alive(int(owner.get("pid", -1)))

  def _create(self):
    data = json.dumps(self._owner_info(), indent=2).encode("utf-8")
    if not file_io.is_local(self.path):
      if file_io.exists(self.path):
        return False
      file_io.write_atomically(self.path, data)
      return True
    try:
      fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      return False
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    return True

  def acquire(self):
    """Takes the lock.

    Raises:
      LockError: If another live run holds it; the message names it.
    """
    file_io.makedirs(self.directory)
    for _ in range(3):
      if self._create():
        self._held = True
        return self
      owner = self._read_owner()
      if not self._is_stale(owner):
        raise LockError(
            "%s is in use by another run: pid %s on host %s since %s (%s). "
            "Wait for it to finish or stop it; if that process no longer "
            "exists, delete %s." % (
                self.directory, owner.get("pid"), owner.get("host"),
                owner.get("started"), owner.get("command"), self.path))
      self._log("Removing the stale lock %s of a run that is gone (%s)"
                % (self.path, owner))
      try:
        file_io.remove(self.path)
      except OSError:
        pass  # Another run removed it first; try again.
    raise LockError("Could not take the lock %s (it keeps reappearing)."
                    % self.path)

  def release(self):
    """Removes the lock file if this run holds it."""
    if not self._held:
      return
    self._held = False
    owner = self._read_owner()
    if owner is not None and owner.get("pid") == os.getpid():
      try:
        file_io.remove(self.path)
      except OSError:
        pass

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *unused_exc):
    self.release()
