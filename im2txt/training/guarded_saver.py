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
"""A training run's checkpoint saves, stopped cleanly at the first failure.

A save that fails (a full disk, a quota, a file size limit, a lost file
system) raises in whichever thread saved: in the Supervisor's checkpoint
thread that is a traceback per thread and training that goes on without
checkpoints until something else fails. GuardedSaver wraps the run's
tf.train.Saver: the first failed save is recorded as one message naming
the directory, the cause, the space a checkpoint needs and the space that
is free; the partial files of that save are removed; and the run is asked
to stop (the loop then raises CheckpointSaveError). A failed save never
updates the `checkpoint` index, so the last complete checkpoint stays the
latest and a rerun resumes from it.
"""

import os
import re
import shutil

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import file_io


class CheckpointSaveError(RuntimeError):
  """A checkpoint could not be written; the message says why and where."""


def _megabytes(num_bytes):
  return "%.0f MB" % (num_bytes / 1e6) if num_bytes >= 1e6 else (
      "%.1f MB" % (num_bytes / 1e6))


def _cause(error):
  """The file system's words from TensorFlow's long message (e.g. "No space
  left on device"), else its first line."""
  text = getattr(error, "message", "") or str(error)
  match = re.search(r"\.tempstate\d*; ([^\n\[]+)", text)
  if match:
    return match.group(1).strip()
  lines = [l.strip() for l in text.splitlines()
           if l.strip() and not l.startswith(("Graph execution", "Detected"))]
  return lines[0][:300] if lines else type(error).__name__


def checkpoint_bytes(prefix):
  """The size of a checkpoint's files (data, index, meta graph); 0 if none."""
  return sum(file_io.getsize(path) for path in file_io.glob(prefix + ".*")
             if ".tempstate" not in path)


def _needed_bytes(saver, variables):
  """What one more checkpoint takes: the last one's size, else the
  variables' bytes."""
  last = saver.last_checkpoints
  size = checkpoint_bytes(last[-1]) if last else 0
  if size:
    return size
  return sum(v.shape.num_elements() * v.dtype.base_dtype.size
             for v in variables if v.shape.is_fully_defined())


def remove_paths(paths):
  """Deletes files and folders, skipping those that cannot be deleted;
  returns how many were."""
  removed = 0
  for path in paths:
    try:
      if file_io.isdir(path):
        tf.io.gfile.rmtree(path)
      else:
        file_io.remove(path)
      removed += 1
    except (OSError, tf.errors.OpError):
      pass
  return removed


def remove_partial_files(prefix):
  """Removes what a failed save of `prefix` left (temporary files and the
  `<prefix>_temp` folder of sharded saves); returns how many."""
  return remove_paths(file_io.glob(prefix + "*.tempstate*") +
                      file_io.glob(prefix + "_temp*"))


def describe_failure(error, directory, step, needed, latest):
  """The one-line message of a failed save."""
  space = ""
  if file_io.is_local(directory) and os.path.isdir(directory):
    free = shutil.disk_usage(directory).free
    space = " A checkpoint needs about %s there; %s are free%s." % (
        _megabytes(needed), _megabytes(free),
        ", so a quota or a file size limit refused it" if free > 2 * needed
        else "")
  resume = ("it resumes from %s, the latest complete checkpoint"
            % os.path.basename(latest) if latest else
            "no checkpoint was completed, so it starts again")
  return ("cannot save the checkpoint of global step %s in %s: %s.%s Make "
          "room there (or use another --train_dir) and rerun the same "
          "command: %s." % (step, directory, _cause(error), space, resume))


class GuardedSaver(object):
  """Stands in for a tf.train.Saver (every attribute is the saver's) with a
  save() that records its first failure instead of raising it.

  Attributes:
    failure: The message of the first failed save, or None.
  """

  def __init__(self, saver, train_dir, global_step, variables):
    self._saver = saver
    self._train_dir = train_dir
    self._global_step = global_step
    self._variables = list(variables)
    self._on_failure = None
    self.failure = None

  def __getattr__(self, name):
    return getattr(self._saver, name)

  def on_failure(self, callback):
    """Calls `callback()` (once) when a save fails: the run's stop."""
    self._on_failure = callback

  def save(self, sess, save_path, global_step=None, **kwargs):
    """Saves as tf.train.Saver.save; returns None after a failure."""
    if self.failure is not None:
      return None
    try:
      return self._saver.save(sess, save_path, global_step=global_step,
                              **kwargs)
    except tf.errors.OpError as e:
      step = global_step
      if global_step is not None and not isinstance(global_step, int):
        try:
          step = tf.train.global_step(sess, global_step)
        except tf.errors.OpError:
          step = "?"
      prefix = "%s-%s" % (save_path, step) if global_step is not None else (
          save_path)
      removed = remove_partial_files(prefix)
      self.failure = describe_failure(
          e, self._train_dir, step,
          _needed_bytes(self._saver, self._variables),
          tf.train.latest_checkpoint(self._train_dir))
      # Stop first, so that at most the step under way runs after the log.
      if self._on_failure is not None:
        self._on_failure()
      tf.logging.error("Checkpoint save failed (%d partial file(s) removed): "
                       "%s", removed, self.failure)
      return None

  def check(self):
    """Raises CheckpointSaveError if a save has failed."""
    if self.failure is not None:
      raise CheckpointSaveError(self.failure)
