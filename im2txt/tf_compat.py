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
"""The one place where im2txt adapts TensorFlow 2.x and tf-slim 1.1.0.

This is the only module of the project that touches ``tensorflow.python``.
Every module that builds graphs imports it (``from im2txt import tf_compat``)
before ``tf_slim``; importing it:

1. Turns on TF1 semantics with ``tf.compat.v1.disable_v2_behavior()``: graph
   mode, reference variables and v1 control flow. Disabling eager execution
   alone is not enough for every TF1 code path (queue-based evaluation loops
   broke with it on TF 2.21).
2. Restores two names that tf-slim 1.1.0 (its last release, 2020) looks up on
   ``tensorflow.python.framework.ops`` and that TensorFlow has since removed:
   ``ops.Tensor`` (used by ``optimize_loss`` and ``slim.learning``) and
   ``ops.IndexedSlices`` (gradient clipping and summaries for sparse
   gradients such as the word-embedding map). They are aliased to the public
   ``tf.Tensor`` and ``tf.IndexedSlices`` classes, which are what those
   names meant.

A third incompatibility is handled where batch normalisation is configured
(:mod:`im2txt.ops.image_embedding`) rather than patched here:
``slim.batch_norm``
with the default ``updates_collections`` (the bare string
``tf.GraphKeys.UPDATE_OPS``) takes a Keras-layer code path that imports the
missing ``tf_keras.legacy_tf_layers``; passing the collection as a one-item
list takes slim's own implementation, with the same variable names and
update ops.

Both steps are idempotent. Last, it checks that TensorFlow runs with Keras 2
(tf-keras), which the LSTM cell needs, and otherwise raises an ImportError
that says how to fix it.
"""

import os as _os

# Sets TF_USE_LEGACY_KERAS before TensorFlow loads.
import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow as _tf
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import ops as _framework_ops


def _patch_tf_slim_names():
  """Aliases the tensor classes tf-slim 1.1.0 expects on the ops module."""
  if not hasattr(_framework_ops, "Tensor"):
    _framework_ops.Tensor = _tf.Tensor
  if not hasattr(_framework_ops, "IndexedSlices"):
    _framework_ops.IndexedSlices = _tf.IndexedSlices


def enable_tf1_behavior():
  """Switches TensorFlow to TF1 graph-mode semantics (idempotent)."""
  if _tf.executing_eagerly() or _tf.__internal__.tf2.enabled():
    tf.disable_v2_behavior()


def check_legacy_keras():
  """Raises ImportError if TensorFlow was loaded with Keras 3.

  The LSTM cell exists only with tf-keras (Keras 2). Importing im2txt sets
  TF_USE_LEGACY_KERAS=1, but that is too late if TensorFlow's Keras was
  already loaded, or if the variable was set to something else.
  """
  version = getattr(_tf.keras, "__version__", "")
  if version.startswith("3"):
    raise ImportError(
        "im2txt needs Keras 2 (the tf-keras package) but TensorFlow is using "
        "Keras %s. Import im2txt before TensorFlow's Keras is first used, or "
        "set TF_USE_LEGACY_KERAS=1 in the environment (it is now %r)."
        % (version, _os.environ.get("TF_USE_LEGACY_KERAS")))


_patch_tf_slim_names()
enable_tf1_behavior()
check_legacy_keras()
