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
"""oneDNN CPU kernels for the batch commands (train, evaluate).

`use_onednn_kernels()` is called by those commands when they run as
programs (their console entry point, `python -m`, the Bazel binary), never
on import: it sets ``TF_ENABLE_ONEDNN_OPTS=1`` unless the user has set the
variable. TensorFlow reads the variable when it first builds kernels for a
session, not when it is imported, so calling this before the first session
is enough. TensorFlow turns oneDNN on by itself only on processors with
AVX-512 VNNI. On an AVX2 CPU it makes the encoder's batch-32 steps
1.11-1.32x as fast (phase 1, phase 2, perplexity evaluation;
benchmarks/README.md), with results changed only by floating-point
summation order.

It is not the package's default, because on the same CPU oneDNN runs the
encoder on ONE image about 10x slower than TensorFlow's Eigen kernels (at
minibatch 1 it picks gemm-based convolutions: 1.77 s instead of 0.16 s per
image), which is what run_inference and single-image requests do. A library
user who imports `im2txt.train` gets TensorFlow's own choice, as does every
other program the user starts. ``TF_ENABLE_ONEDNN_OPTS=0`` gives training
and evaluation TensorFlow's own choice back.
"""

import os

ENV_VAR = "TF_ENABLE_ONEDNN_OPTS"


def use_onednn_kernels():
  """Turns oneDNN on for this process and its children, unless the user
  chose (`TF_ENABLE_ONEDNN_OPTS` set). Call it first in a program's entry
  point, before any session runs."""
  os.environ.setdefault(ENV_VAR, "1")
