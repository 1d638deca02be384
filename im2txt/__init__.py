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
"""Show and Tell: a neural image caption generator (im2txt).

Implementation of the model of Vinyals et al., "Show and Tell: Lessons learned
from the 2015 MSCOCO Image Captioning Challenge" (IEEE TPAMI, 2016), in
TensorFlow 1.x-style graph mode on current TensorFlow.

Importing this package sets ``TF_USE_LEGACY_KERAS=1`` (unless the user has
set it already) *before* anything imports TensorFlow: the LSTM decoder uses
``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``, which only exists with the
``tf-keras`` package selected as Keras. Every module of the package is
reached through this file, so users never need to set the variable.
"""

import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "2.21.0"
