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
"""Model checkpoints: where they are, what they hold, how they were built.

A binary is given a checkpoint as a prefix (``train/model.ckpt-2000``) or as
a directory that holds a ``checkpoint`` index file (its latest checkpoint is
meant). ``resolve`` turns either into the prefix once; callers pass the
resolved prefix on. Beside the checkpoints, ``train`` writes the run's
``model_config.json``; ``model_config_for`` reads it back so that the graph
is rebuilt with the shapes the checkpoint was trained with. Paths may be
local or on any TensorFlow file system (gs://...).
"""

import os

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.common import file_io
from im2txt.serving import legacy_checkpoints


class CheckpointNotFoundError(ValueError):
  """A checkpoint path or directory holds no usable checkpoint."""


class CheckpointMismatchError(ValueError):
  """A checkpoint lacks variables the model needs, or has other shapes."""


# What reading a vanished or damaged checkpoint raises (TensorFlow's reader
# raises IndexError on a truncated data file).
READ_ERRORS = (tf.errors.OpError, ValueError, IndexError, OSError)


class CheckpointFault(Exception):
  """A listed checkpoint cannot be used: it vanished (training rotated it
  out), or it cannot be read (corrupt, truncated)."""

  def __init__(self, path, reason, vanished):
    super().__init__("%s: %s" % (path, reason))
    self.path = path
    self.reason = reason
    self.vanished = vanished


def fault(path, error):
  """The CheckpointFault of an error reading the checkpoint `path`."""
  reason = (getattr(error, "message", None) or str(error)).strip()
  reason = reason.splitlines()[0] if reason else repr(error)
  return CheckpointFault(path, reason,
                         vanished=not file_io.exists(path + ".index"))


def restore(saver, sess, path):
  """saver.restore(sess, path), with a CheckpointFault for a checkpoint
  that vanished or cannot be read."""
  try:
    saver.restore(sess, path)
  except READ_ERRORS as e:
    raise fault(path, e)


def resolve(checkpoint_path):
  """Turns a checkpoint prefix or a directory into a checkpoint prefix.

  Args:
    checkpoint_path: A checkpoint prefix (e.g. train/model.ckpt-2000), or a
      directory that holds a `checkpoint` index file. Relative paths are
      made absolute, so that the result does not depend on how the index
      file spells its entries.

  Returns:
    The checkpoint prefix.

  Raises:
    CheckpointNotFoundError: If nothing usable is there; the message says
      what was found instead.
    legacy_checkpoints.LegacyCheckpointError: For a V1-format checkpoint
      file with TensorFlow 0.x names.
  """
  if not checkpoint_path:
    raise CheckpointNotFoundError(
        "No checkpoint path given (--checkpoint_path).")
  if file_io.is_local(checkpoint_path):
    checkpoint_path = os.path.abspath(checkpoint_path)
  if file_io.exists(checkpoint_path + ".index"):
    return checkpoint_path
  if file_io.isdir(checkpoint_path):
    latest = tf.train.latest_checkpoint(checkpoint_path)
    if not latest:
      index = file_io.join(checkpoint_path, "checkpoint")
      if file_io.exists(index):
        raise CheckpointNotFoundError(
            "The checkpoint index %s lists no checkpoint whose files exist."
            % index)
      raise CheckpointNotFoundError(
          "No checkpoint file found in: %s (the directory has no file named "
          "'checkpoint'; pass the checkpoint prefix itself, e.g. "
          "%s/model.ckpt-NNNN)" % (checkpoint_path, checkpoint_path))
    return latest
  if legacy_checkpoints.is_v1_file(checkpoint_path):
    # TensorFlow 0.x's single-file format: readable if its names are
    # current, else the converter's message.
    legacy_checkpoints.check_current(checkpoint_path)
    return checkpoint_path
  hint = ""
  for suffix in (".index", ".meta", ".data-00000-of-00001"):
    if checkpoint_path.endswith(suffix):
      hint = (" Pass the prefix without %r: %s"
              % (suffix, checkpoint_path[:-len(suffix)]))
  if not file_io.exists(checkpoint_path):
    raise CheckpointNotFoundError(
        "Checkpoint %s not found.%s" % (checkpoint_path, hint))
  raise CheckpointNotFoundError(
      "%s is not a checkpoint prefix (no %s.index).%s"
      % (checkpoint_path, checkpoint_path, hint))


def listed(directory):
  """The checkpoints a directory's `checkpoint` index lists, oldest first;
  relative entries (a copied train_dir) are taken in the directory."""
  state = tf.train.get_checkpoint_state(directory)
  if not state:
    return []
  return [path if os.path.isabs(path) or not file_io.is_local(path)
          else os.path.join(directory, path)
          for path in state.all_model_checkpoint_paths]


def directory_of(checkpoint_path):
  """The folder of a checkpoint prefix, or the directory itself."""
  # A prefix first: some file systems (ram://) call any path a directory.
  if file_io.exists(checkpoint_path + ".index"):
    return file_io.dirname(checkpoint_path) or "."
  if file_io.isdir(checkpoint_path):
    return checkpoint_path
  return file_io.dirname(checkpoint_path) or "."


def model_config_for(checkpoint_path, model_config_file=""):
  """Returns the ModelConfig to rebuild the graph of a checkpoint.

  Args:
    checkpoint_path: A checkpoint prefix or a directory of checkpoints.
    model_config_file: Optional JSON file that takes precedence.

  Returns:
    The ModelConfig from model_config_file if given, else the one saved by
    train beside the checkpoint (model_config.json), else the defaults.
  """
  if model_config_file:
    return configuration.ModelConfig.from_json_file(model_config_file)
  saved = configuration.load_model_config(directory_of(checkpoint_path))
  return saved if saved is not None else configuration.ModelConfig()


def has_saved_model_config(checkpoint_path):
  """Whether train's model_config.json lies beside the checkpoint."""
  return file_io.exists(file_io.join(directory_of(checkpoint_path),
                                     configuration.MODEL_CONFIG_FILENAME))


def global_step(checkpoint_path):
  """The global step stored in a checkpoint (a prefix), as an int."""
  return int(tf.train.load_checkpoint(checkpoint_path).get_tensor(
      "global_step"))


def _reader(checkpoint_path):
  try:
    return tf.train.load_checkpoint(checkpoint_path)
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
    raise CheckpointMismatchError(
        "Cannot read checkpoint %s: %s. Pass the checkpoint prefix (for "
        "example inception_v3.ckpt), not one of its .index/.data files."
        % (checkpoint_path, str(e).splitlines()[0]))


def variable_shapes(checkpoint_path):
  """{variable name: shape} of a checkpoint.

  Raises:
    CheckpointMismatchError: If the checkpoint cannot be read.
  """
  return _reader(checkpoint_path).get_variable_to_shape_map()


def shapes_and_step(checkpoint_path):
  """(variable_shapes, global step or None), from one read of the
  checkpoint.

  Raises:
    CheckpointMismatchError: If the checkpoint cannot be read.
  """
  reader = _reader(checkpoint_path)
  shapes = reader.get_variable_to_shape_map()
  step = None
  if "global_step" in shapes:
    step = int(reader.get_tensor("global_step"))
  return shapes, step


def check_has_variables(checkpoint_path, variables, shapes=None):
  """Checks that a checkpoint holds every variable with the right shape.

  Args:
    checkpoint_path: A checkpoint prefix (e.g. /ckpt/inception_v3.ckpt).
    variables: The graph variables that will be restored from it, or a
      dict {name in the checkpoint: variable} (a Saver's var_list).
    shapes: Its variable_shapes, if already read.

  Raises:
    CheckpointMismatchError: If the checkpoint cannot be read, or misses a
      variable, or stores one with another shape.
    legacy_checkpoints.LegacyCheckpointError: If it is an im2txt checkpoint
      of an older TensorFlow (the message gives the converter's command).
  """
  if shapes is None:
    shapes = variable_shapes(checkpoint_path)
  legacy_checkpoints.check_current(checkpoint_path, shapes)
  missing, wrong = [], []
  if not isinstance(variables, dict):
    variables = {var.op.name: var for var in variables}
  for name, var in sorted(variables.items()):
    if name not in shapes:
      missing.append(name)
    elif list(shapes[name]) != var.shape.as_list():
      wrong.append("%s: checkpoint %s, model %s"
                   % (name, shapes[name], var.shape.as_list()))
  if missing or wrong:
    parts = []
    if missing:
      parts.append("%d variables missing (e.g. %s)"
                   % (len(missing), ", ".join(missing[:3])))
    if wrong:
      parts.append("%d with other shapes (e.g. %s)"
                   % (len(wrong), "; ".join(wrong[:3])))
    raise CheckpointMismatchError(
        "Checkpoint %s does not match the model: %s."
        % (checkpoint_path, " and ".join(parts)))
