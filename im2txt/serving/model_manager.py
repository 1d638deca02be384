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
"""The versions of one model that a server loads, serves and unloads.

As TensorFlow Serving's default version policy: the newest complete version
under the base path is served. ``poll()`` (called every
--file_system_poll_wait_seconds) loads a newer version beside the one
serving; once it has loaded it takes over, and the old one is unloaded when
its last request has finished, so no request in flight fails. A version
that fails to load is logged and recorded (state END with its error) and
the previous one keeps serving; it is tried again only if its files
change. A version whose folder is removed is unloaded (and the newest
remaining one loaded).
"""

import os
import threading

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.serving import model_versions
from im2txt.serving import servable as servable_lib

# Version states, as TensorFlow Serving's ModelVersionStatus.State names them.
START, LOADING, AVAILABLE, UNLOADING, END = (
    "START", "LOADING", "AVAILABLE", "UNLOADING", "END")


class VersionStatus(object):
  """The state of one version: state, and error message if it failed."""

  def __init__(self, state, error=""):
    self.state = state
    self.error = error


def _stamp(folder):
  """What identifies a version's files: its saved_model.pb's mtime and size."""
  try:
    stat = os.stat(os.path.join(folder, model_versions.SAVED_MODEL_FILE))
    return (stat.st_mtime_ns, stat.st_size)
  except OSError:
    return None


def threads_config(intra_op_threads, inter_op_threads):
  """The sessions' ConfigProto for TensorFlow Serving's two thread flags
  (None when both are 0, TensorFlow's own choice)."""
  if not intra_op_threads and not inter_op_threads:
    return None
  return tf.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                        inter_op_parallelism_threads=inter_op_threads)


class ModelManager(object):
  """The loaded versions of the model `name` under `base_path`."""

  def __init__(self, name, base_path, session_config=None, log=None,
               load_fn=None):
    self.name = name
    self.base_path = base_path
    self._session_config = session_config
    self._log = log or tf.logging.info
    self._load_fn = load_fn or servable_lib.Servable
    self._lock = threading.Lock()
    self._loaded = {}      # version -> Servable (AVAILABLE)
    self._status = {}      # version -> VersionStatus
    self._failed = {}      # version -> stamp of the files that failed
    self._poll_lock = threading.Lock()

  # -- Serving.

  def acquire(self, version=None):
    """The Servable for a request (the newest, or `version`), marked in use;
    call its release() when done.

    Raises:
      ServingError (NOT_FOUND): No such version is available.
    """
    while True:
      with self._lock:
        if version is None:
          chosen = max(self._loaded) if self._loaded else None
        else:
          chosen = version if version in self._loaded else None
        servable = self._loaded.get(chosen)
      if servable is None:
        raise servable_lib.ServingError(servable_lib.NOT_FOUND, (
            "Servable not found for request: %s(%s%s)" % (
                "Latest" if version is None else "Specific", self.name,
                "" if version is None else ", %s" % version)))
      if servable.acquire():
        return servable
      # It began unloading after we chose it: choose again.

  def statuses(self):
    """{version: VersionStatus}, newest first."""
    with self._lock:
      return dict(sorted(self._status.items(), reverse=True))

  def newest_available(self):
    with self._lock:
      return max(self._loaded) if self._loaded else None

  # -- Loading and unloading.

  def poll(self):
    """Brings the loaded versions in line with the base path once."""
    with self._poll_lock:
      found = model_versions.versions(self.base_path)
      with self._lock:
        loaded = set(self._loaded)
      for version in sorted(loaded - set(found)):
        self._log("Version %d of %s was removed from %s: unloading it."
                  % (version, self.name, self.base_path))
        self._unload(version)
      # Versions that failed are tried again only once their files change.
      candidates = [v for v in sorted(found, reverse=True)
                    if v not in self._failed or
                    self._failed[v] != _stamp(found[v])]
      # The newest version that loads (one that fails is skipped, so the
      # next older one serves: at a start after a broken export too).
      for version in candidates:
        serving = self.newest_available()
        if version in loaded or (serving is not None and serving > version):
          return
        if self._load(version, found[version]):
          for older in sorted(loaded):
            self._unload(older)
          return

  def _load(self, version, folder):
    with self._lock:
      self._status[version] = VersionStatus(LOADING)
    self._log("Loading version %d of %s from %s." % (version, self.name,
                                                     folder))
    try:
      servable = self._load_fn(self.name, version, folder,
                               session_config=self._session_config)
    except Exception as e:  # pylint: disable=broad-except
      # Any failure of a version's files must leave the server serving.
      message = "%s: %s" % (type(e).__name__,
                            str(getattr(e, "message", e)).splitlines()[0]
                            if str(e) else "")
      self._failed[version] = _stamp(folder)
      with self._lock:
        self._status[version] = VersionStatus(END, message)
      self._log("Version %d of %s failed to load and is not served (%s); "
                "%s." % (version, self.name, message,
                         "version %d keeps serving" % self.newest_available()
                         if self.newest_available() else
                         "no version is served"))
      return False
    self._failed.pop(version, None)
    with self._lock:
      self._loaded[version] = servable
      self._status[version] = VersionStatus(AVAILABLE)
    self._log("Version %d of %s is available (signatures: %s)." % (
        version, self.name, ", ".join(sorted(servable.signatures))))
    return True

  def _unload(self, version):
    with self._lock:
      servable = self._loaded.pop(version, None)
      if servable is None:
        return
      self._status[version] = VersionStatus(UNLOADING)
    servable.close()  # Waits for its requests in flight.
    with self._lock:
      self._status[version] = VersionStatus(END)
    self._log("Version %d of %s is unloaded." % (version, self.name))

  def close(self):
    """Unloads every version (after their requests in flight)."""
    with self._lock:
      versions = list(self._loaded)
    for version in versions:
      self._unload(version)
