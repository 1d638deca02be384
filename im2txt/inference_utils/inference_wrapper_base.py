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
"""Base class of the model wrappers that beam search drives.

Protocol between a caption model and
:class:`im2txt.inference_utils.caption_generator.CaptionGenerator`:

* ``feed_image(sess, encoded_image)`` -> float32 array [1, state_size]: the
  model state after reading the image.
* ``inference_step(sess, input_feed, state_feed)`` with input_feed an int64
  array [batch] of previous word ids and state_feed a float32 array
  [batch, state_size] -> (softmax [batch, vocab_size], new states
  [batch, state_size], per-caption metadata or None).

For the Show and Tell graph these map onto the tensors ``image_feed:0``,
``lstm/initial_state:0``, ``input_feed:0``, ``lstm/state_feed:0``,
``softmax:0`` and ``lstm/state:0`` (im2txt/show_and_tell_model.py). A state
is the LSTM's [c | h] concatenation.

Subclasses implement ``build_model``, ``feed_image`` and ``inference_step``;
this class builds the graph from a config or from serialized GraphDef and
SaverDef files, and returns a function that restores a checkpoint (resolved
by :func:`im2txt.common.checkpoints.resolve`). The captioning library
(:mod:`im2txt.captioning.captioner`) drives a wrapper over many images.
"""

import os.path

import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from google.protobuf import message

from im2txt.common import checkpoints

# Ops that hold variables in a GraphDef (absent from a frozen graph).
_VARIABLE_OPS = frozenset(["Variable", "VariableV2", "VarHandleOp"])


class InferenceWrapperBase(object):
  """Drives a caption model one step at a time (see the module docstring)."""

  def __init__(self):
    pass

  def build_model(self, model_config):
    """Builds the inference-mode model in the default graph and returns it."""
    raise NotImplementedError("Please implement build_model in subclass")

  def _create_restore_fn(self, checkpoint_path, saver):
    """Returns restore_fn(sess), which restores `saver`'s variables.

    Args:
      checkpoint_path: A checkpoint prefix, or a directory holding a
        `checkpoint` index file (its latest checkpoint is used).
      saver: The Saver to restore with.

    Raises:
      checkpoints.CheckpointNotFoundError: If there is no checkpoint at
        checkpoint_path.
    """
    checkpoint_path = checkpoints.resolve(checkpoint_path)

    def _restore_fn(sess):
      tf.logging.info("Loading model from checkpoint: %s", checkpoint_path)
      checkpoints.restore(saver, sess, checkpoint_path)
      tf.logging.info("Successfully loaded checkpoint: %s",
                      os.path.basename(checkpoint_path))

    return _restore_fn

  def build_graph_from_config(self, model_config, checkpoint_path):
    """Builds the model from a ModelConfig; returns its restore function.

    Args:
      model_config: A ModelConfig.
      checkpoint_path: A checkpoint prefix or a directory (see
        _create_restore_fn).
    """
    tf.logging.info("Building model.")
    self.build_model(model_config)
    saver = tf.train.Saver()

    return self._create_restore_fn(checkpoint_path, saver)

  def build_graph_from_proto(self, graph_def_file, saver_def_file="",
                             checkpoint_path=""):
    """Imports a serialized graph; returns its restore function.

    Two kinds of graph: one with variables, restored from a checkpoint with
    its SaverDef (the original's use), or a frozen graph (variables turned
    into constants, as export_saved_model --frozen_graph_file writes),
    which needs neither; its restore function does nothing.

    Args:
      graph_def_file: File holding a binary GraphDef (imported unprefixed).
      saver_def_file: File holding the binary SaverDef of that graph; empty
        for a frozen graph.
      checkpoint_path: A checkpoint prefix or a directory (see
        _create_restore_fn); empty for a frozen graph.

    Raises:
      ValueError: If the file is not a GraphDef, or a graph with variables
        comes without a SaverDef and checkpoint (or a frozen one with them).
    """
    tf.logging.info("Loading GraphDef from file: %s", graph_def_file)
    graph_def = tf.GraphDef()
    with tf.gfile.GFile(graph_def_file, "rb") as f:
      try:
        graph_def.ParseFromString(f.read())
      except message.DecodeError as e:
        raise ValueError("%s is not a binary GraphDef: %s" % (graph_def_file,
                                                               e))
    variables = [node.name for node in graph_def.node
                 if node.op in _VARIABLE_OPS]
    if bool(saver_def_file) != bool(checkpoint_path):
      raise ValueError("A SaverDef file and a checkpoint go together; got "
                       "saver_def_file=%r, checkpoint_path=%r"
                       % (saver_def_file, checkpoint_path))
    if not saver_def_file and variables:
      raise ValueError(
          "%s has %d variables (e.g. %s): it is not a frozen graph. Pass its "
          "SaverDef file and a checkpoint, or freeze it with "
          "export_saved_model --frozen_graph_file."
          % (graph_def_file, len(variables), variables[0]))
    if saver_def_file and not variables:
      raise ValueError("%s is a frozen graph (no variables): it needs no "
                       "SaverDef or checkpoint." % graph_def_file)
    tf.import_graph_def(graph_def, name="")
    if not saver_def_file:
      tf.logging.info("Frozen graph: no checkpoint to restore.")
      return lambda sess: None

    tf.logging.info("Loading SaverDef from file: %s", saver_def_file)
    saver_def = tf.train.SaverDef()
    with tf.gfile.GFile(saver_def_file, "rb") as f:
      saver_def.ParseFromString(f.read())
    saver = tf.train.Saver(saver_def=saver_def)

    return self._create_restore_fn(checkpoint_path, saver)

  def feed_image(self, sess, encoded_image):
    """Returns the state after the image: a float32 array [1, state_size]."""
    raise NotImplementedError("Please implement feed_image in subclass")

  def inference_step(self, sess, input_feed, state_feed):
    """Runs one decoder step for a batch of partial captions.

    Args:
      sess: A Session holding the model.
      input_feed: An int64 array [batch] of each caption's last word id.
      state_feed: A float32 array [batch, state_size] of their states.

    Returns:
      (softmax [batch, vocab_size], new_state [batch, state_size], metadata)
      where metadata is None or a list of one value per caption.
    """
    raise NotImplementedError("Please implement inference_step in subclass")
