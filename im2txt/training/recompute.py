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

By default every forward op of the encoder is marked, and the optimizer
recomputes the encoder as one connected whole. ``segments_of`` reads
train's --recompute_encoder_blocks: segments of blocks whose outputs are
kept and whose insides are recomputed, each from its kept input, so that
part of the encoder can be left alone (less time, less saving). Measured
on a 2-core CPU (benchmarks/README.md), segments did not bring the step's
peak below the whole encoder's: the optimizer schedules the recomputed
ops by its own rules, not one segment at a time.
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

# Inception v3's blocks in forward order (its end points; the stem's seven
# layers have 147 x 147 to 35 x 35 activations, the Mixed blocks 35 x 35,
# 17 x 17 and 8 x 8).
STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_3a_3x3",
        "Conv2d_3b_1x1", "Conv2d_4a_3x3", "MaxPool_5a_3x3")
MIXED = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
         "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b",
         "Mixed_7c")

# What --recompute_encoder recomputes by default: every forward op of the
# encoder, as one whole (the least memory measured; benchmarks/README.md).
# --recompute_encoder_blocks can instead name segments: each segment's
# output is kept, everything inside it is dropped after the forward pass and
# recomputed from the segment's input for its backward pass; recomputing
# only the stem and the 35 x 35 blocks costs half the time for part of the
# saving.
DEFAULT_BLOCKS = "whole"
WHOLE = "whole"


def segments_of(blocks):
  """The segments of a --recompute_encoder_blocks value.

  Args:
    blocks: Comma-separated segments, each a block name (STEM, MIXED) or
      several joined by "+" (recomputed together); "stem" stands for the
      seven stem layers joined. "whole" alone: every encoder op,
      recomputed as one whole.

  Returns:
    A tuple of segments (tuples of block names), or None for "whole".

  Raises:
    ValueError: For an empty list, an unknown name (the names listed) or a
      block in two segments.
  """
  if blocks.strip() == WHOLE:
    return None
  segments = []
  for segment in blocks.split(","):
    names = [name.strip() for name in segment.split("+") if name.strip()]
    if names:
      segments.append(tuple(block for name in names for block in (
          STEM if name == "stem" else (name,))))
  known = set(STEM + MIXED)
  unknown = sorted(set(b for s in segments for b in s) - known)
  listed = [b for s in segments for b in s]
  repeated = sorted(set(b for b in listed if listed.count(b) > 1))
  if unknown or repeated or not segments:
    problem = ("unknown block %s" % ", ".join(unknown) if unknown else
               "%s in two segments" % ", ".join(repeated) if repeated else
               "no block")
    raise ValueError(
        "--recompute_encoder_blocks=%s: %s; give comma-separated segments, "
        "each a block or blocks joined by '+', among stem (its layers %s), "
        "%s; or %s alone" % (blocks, problem, "+".join(STEM),
                             ", ".join(MIXED), WHOLE))
  return tuple(segments)


DEFAULT_SEGMENTS = segments_of(DEFAULT_BLOCKS)


def _block_of(op_name, prefix):
  """The encoder block an op of the forward pass belongs to, or None."""
  inner = prefix + prefix
  if not op_name.startswith(inner):
    return None
  return op_name[len(inner):].split("/", 1)[0]


def _is_forward_consumer(op):
  """Whether `op` is part of the forward pass (not a gradient or summary)."""
  return ("gradients/" not in op.name and "Summary" not in op.type and
          "zero_fraction" not in op.name)


def _markable(op):
  return op.type not in _KEPT_TYPES and "AssignMovingAvg" not in op.name


def mark_encoder(graph, encoder_scope, segments=None):
  """Marks the encoder's forward ops in `graph` for recomputation.

  Args:
    graph: A training graph (phase 2: the encoder is trained).
    encoder_scope: The encoder's name scope, e.g. "InceptionV3".
    segments: None marks every forward op of the encoder (one recomputed
      whole); else a sequence of segments, each a sequence of block names
      (STEM, MIXED): the ops of a segment are marked except those whose
      outputs the forward pass uses outside the segment (its outputs, kept
      in memory), so that each segment is recomputed on its own from its
      kept input, just before its backward pass.

  Returns:
    The number of ops marked.

  Raises:
    ValueError: If the graph has no op in encoder_scope to mark, or a
      segment names a block the encoder does not have.
  """
  prefix = encoder_scope.rstrip("/") + "/"
  if segments is None:
    chosen = [op for op in graph.get_operations()
              if op.name.startswith(prefix) and _markable(op)]
  else:
    segment_of = {}
    for number, segment in enumerate(segments):
      for block in segment:
        segment_of[block] = number
    ops = [op for op in graph.get_operations() if op.name.startswith(prefix)]
    found = set(_block_of(op.name, prefix) for op in ops)
    missing = sorted(set(segment_of) - found)
    if ops and missing:
      raise ValueError("no block %s in the encoder %r (blocks: %s)" % (
          ", ".join(missing), encoder_scope,
          ", ".join(b for b in STEM + MIXED if b in found)))
    chosen = []
    for op in ops:
      number = segment_of.get(_block_of(op.name, prefix))
      if number is None or not _markable(op):
        continue
      consumers = [c for t in op.outputs for c in t.consumers()
                   if _is_forward_consumer(c)]
      if any(segment_of.get(_block_of(c.name, prefix)) != number
             for c in consumers):
        continue  # The segment's output: kept.
      chosen.append(op)
  for op in chosen:
    op._set_attr(HINT, attr_value_pb2.AttrValue(i=0))  # pylint: disable=protected-access
  if not chosen:
    raise ValueError("no op in scope %r to recompute" % encoder_scope)
  return len(chosen)


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
