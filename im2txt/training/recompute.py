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
"""Recomputing the encoder's activations in phase 2's backward pass.

Fine-tuning Inception v3 (phase 2) keeps every activation of the encoder's
forward pass until the backward pass has used it: most of the step's peak
memory, and what decides the batch that fits on a GPU. TensorFlow's graph
optimizer (Grappler's memory optimizer, in its MANUAL mode) can instead
drop activations and recompute them from stored inputs when the gradient
needs them. ``mark_encoder`` marks the encoder's forward ops for that
(the ``_recompute_hint`` attribute the optimizer looks for);
``enable`` switches the optimizer's mode on in a session config
(``config_with_recomputation``: in a copy). The
variables, the checkpoint and the results are unchanged (up to
floating-point summation order); each step does more work.
"""

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from tensorflow.core.framework import attr_value_pb2
from tensorflow.core.protobuf import rewriter_config_pb2

HINT = "_recompute_hint"

# Ops whose outputs are state or constants, never recomputed: variables,
# their reads and assignments (the moving averages of batch norm).
_KEPT_TYPES = frozenset([
    "VariableV2", "VarHandleOp", "ReadVariableOp", "Const", "Identity",
    "Assign", "AssignSub", "AssignAdd", "AssignSubVariableOp",
    "AssignAddVariableOp", "AssignVariableOp", "NoOp"])


def mark_encoder(graph, encoder_scope):
  """Marks the encoder's forward ops in `graph` for recomputation.

  Args:
    graph: A training graph (phase 2: the encoder is trained).
    encoder_scope: The encoder's name scope, e.g. "InceptionV3".

  Returns:
    The number of ops marked.

  Raises:
    ValueError: If the graph has no op in encoder_scope.
  """
  prefix = encoder_scope.rstrip("/") + "/"
  marked = 0
  for op in graph.get_operations():
    if (not op.name.startswith(prefix) or op.type in _KEPT_TYPES or
        "AssignMovingAvg" in op.name):
      continue
    op._set_attr(HINT, attr_value_pb2.AttrValue(i=0))  # pylint: disable=protected-access
    marked += 1
  if not marked:
    raise ValueError("no op in scope %r to recompute" % encoder_scope)
  return marked


def enable(session_config):
  """Turns on the recomputation of marked ops in a tf.ConfigProto (in
  place) and returns it."""
  session_config.graph_options.rewrite_options.memory_optimization = (
      rewriter_config_pb2.RewriterConfig.MANUAL)
  return session_config


def config_with_recomputation(base=None):
  """A copy of `base` (or a new tf.ConfigProto) with recomputation on."""
  proto = tf.ConfigProto()
  if base is not None:
    proto.CopyFrom(base)
  return enable(proto)
