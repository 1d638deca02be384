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
"""Checkpoints written by older TensorFlow releases, and their conversion.

TensorFlow renamed the variables of BasicLSTMCell twice; im2txt's code kept
its `lstm` scope throughout, so a checkpoint's LSTM names tell the release
that trained it:

  TensorFlow 0.10-0.12: lstm/BasicLSTMCell/Linear/Matrix, .../Linear/Bias
  TensorFlow 1.0-1.1:   lstm/basic_lstm_cell/weights,      .../biases
  TensorFlow 1.2 on:    lstm/basic_lstm_cell/kernel,       .../bias

Shapes and layout never changed ([input; h] rows, gates i, j, f, o), and
every other variable (InceptionV3/*, image_embedding/weights,
seq_embedding/map, logits/*, global_step) kept its name. The community's
released checkpoints (1M steps, TensorFlow 0.x, often in the V1 file
format; 2M steps, TensorFlow 1.0) therefore restore after a rename, which
``convert`` writes as a new checkpoint in the current format.
"""

import os
import re

import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import file_io
from im2txt.data import schema

KERNEL = schema.LSTM_KERNEL_NAME
BIAS = schema.LSTM_BIAS_NAME

# (release, {old name: current name}), oldest first.
LEGACY_NAMINGS = (
    ("TensorFlow 0.10-0.12", {
        "lstm/BasicLSTMCell/Linear/Matrix": KERNEL,
        "lstm/BasicLSTMCell/Linear/Bias": BIAS,
    }),
    ("TensorFlow 1.0-1.1", {
        "lstm/basic_lstm_cell/weights": KERNEL,
        "lstm/basic_lstm_cell/biases": BIAS,
    }),
)

CONVERTER = "convert_legacy_checkpoint"


class LegacyCheckpointError(ValueError):
  """A checkpoint uses an old naming or format; the message says how to
  convert it."""


def legacy_release(names):
  """The release whose LSTM names `names` (variable names) use, or None."""
  names = set(names)
  if KERNEL in names:
    return None
  for release, renames in LEGACY_NAMINGS:
    if any(old in names for old in renames):
      return release
  return None


def renamed(name):
  """The current name of a variable (slot variables of an LSTM variable,
  old_name/Momentum, follow it)."""
  for _, renames in LEGACY_NAMINGS:
    for old, new in renames.items():
      if name == old or name.startswith(old + "/"):
        return new + name[len(old):]
  return name


def suggested_output(checkpoint_path):
  """Where the converter's command in our messages writes: a `converted`
  folder beside the checkpoint, with the same file name."""
  folder, base = os.path.split(checkpoint_path)
  return os.path.join(folder, "converted", base)


def converter_command(checkpoint_path):
  return "%s --input_checkpoint=%s --output_checkpoint=%s" % (
      CONVERTER, checkpoint_path, suggested_output(checkpoint_path))


def is_v1_file(checkpoint_path):
  """Whether checkpoint_path is a V1-format checkpoint (one file, no
  .index beside it, as TensorFlow 0.x wrote them)."""
  if tf.gfile.Exists(checkpoint_path + ".index"):
    return False
  if re.search(r"\.(index|meta|data-\d+-of-\d+)$", checkpoint_path):
    return False  # A file of a V2 checkpoint (TensorFlow reads it too).
  if not tf.gfile.Exists(checkpoint_path) or tf.gfile.IsDirectory(
      checkpoint_path):
    return False
  try:
    tf.train.load_checkpoint(checkpoint_path)
  except (tf.errors.OpError, ValueError):
    return False
  return True


def check_current(checkpoint_path, names=None):
  """Raises LegacyCheckpointError if the checkpoint has legacy LSTM names.

  Args:
    checkpoint_path: A checkpoint prefix (or V1 file).
    names: Its variable names, if already read.
  """
  if names is None:
    names = tf.train.load_checkpoint(
        checkpoint_path).get_variable_to_shape_map()
  release = legacy_release(names)
  if release is None:
    return
  old = sorted(n for n in names if renamed(n) != n)
  raise LegacyCheckpointError(
      "Checkpoint %s was written by %s: its LSTM variables are named %s, "
      "which current TensorFlow calls %s and %s. Convert it once with\n"
      "  %s\nand use the converted checkpoint (with the vocabulary it was "
      "trained with)."
      % (checkpoint_path, release, ", ".join(old[:2]), KERNEL, BIAS,
         converter_command(checkpoint_path)))


def convert(input_checkpoint, output_checkpoint):
  """Writes input_checkpoint's variables under their current names.

  Every variable is kept, with its dtype and value; the global step too.
  The output is a V2 checkpoint with a `checkpoint` index in its folder.

  Args:
    input_checkpoint: A checkpoint prefix or a V1 checkpoint file.
    output_checkpoint: The prefix to write (e.g. converted/model.ckpt-N).

  Returns:
    A dict {old name: new name} of the renamed variables (empty when the
    checkpoint already had the current names).

  The output folder's `checkpoint` index keeps the checkpoints it already
  listed; the converted one becomes the latest unless a listed one has a
  higher global step.

  Raises:
    LegacyCheckpointError: If the input cannot be read, the output exists
      or lies under a regular file.
  """
  blocking = file_io.file_above(output_checkpoint)
  if blocking:
    raise LegacyCheckpointError("Cannot write %s: %s is a file, not a folder."
                                % (output_checkpoint, blocking))
  try:
    reader = tf.train.load_checkpoint(input_checkpoint)
  except (tf.errors.OpError, ValueError) as e:
    raise LegacyCheckpointError("Cannot read checkpoint %s: %s" % (
        input_checkpoint, str(e).strip().splitlines()[0]))
  if tf.gfile.Exists(output_checkpoint + ".index"):
    raise LegacyCheckpointError(
        "%s already exists; choose another --output_checkpoint."
        % output_checkpoint)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  renames = {name: renamed(name) for name in shapes if renamed(name) != name}
  targets = {}
  for name in shapes:
    new = renamed(name)
    if new in targets:
      raise LegacyCheckpointError(
          "Checkpoint %s has both %s and %s, which are the same variable "
          "today; it cannot be converted." % (input_checkpoint,
                                              targets[new], name))
    targets[new] = name
  g = tf.Graph()
  with g.as_default():
    variables = []
    for new, old in sorted(targets.items()):
      # Placeholder-initialized, so that values are not copied into the
      # graph (Inception alone is 90 MB).
      value = tf.placeholder(dtypes[old], shapes[old])
      variables.append((tf.Variable(value, name=new, trainable=False), old,
                        value))
    saver = tf.train.Saver([v for v, _, _ in variables])
    with tf.Session() as sess:
      for var, old, value in variables:
        sess.run(var.initializer, {value: reader.get_tensor(old)})
      tf.gfile.MakeDirs(os.path.dirname(output_checkpoint) or ".")
      saver.save(sess, output_checkpoint, write_meta_graph=False,
                 write_state=False)
  _list_in_index(output_checkpoint, _step(reader, shapes))
  return renames


def _step(reader, shapes):
  return int(reader.get_tensor("global_step")) if "global_step" in shapes \
      else -1


def _list_in_index(checkpoint, step):
  """Adds `checkpoint` to the `checkpoint` index of its folder, keeping the
  ones listed there; it is the latest unless one of a higher step is."""
  folder = os.path.dirname(checkpoint) or "."
  state = tf.train.get_checkpoint_state(folder)
  listed = list(state.all_model_checkpoint_paths) if state else []
  latest = checkpoint
  if state and state.model_checkpoint_path:
    current = state.model_checkpoint_path
    if not os.path.isabs(current) and file_io.is_local(folder):
      current = os.path.join(folder, current)
    try:
      reader = tf.train.load_checkpoint(current)
      if _step(reader, reader.get_variable_to_shape_map()) > step:
        latest = state.model_checkpoint_path
    except (tf.errors.OpError, ValueError):
      pass  # A listed checkpoint that is gone: the converted one is latest.
  if checkpoint not in listed:
    listed.append(checkpoint)
  # TensorFlow's index keeps the latest last (and would append it again).
  listed = [p for p in listed if p != latest] + [latest]
  tf.train.update_checkpoint_state(folder, latest,
                                   all_model_checkpoint_paths=listed)
