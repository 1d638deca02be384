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
"""A cap on glibc's malloc arenas for train.

glibc gives threads that allocate at the same time arenas of their own (up
to 8 per core) and rarely returns their freed memory to the system. Phase
2 runs the step's kernels, the input pipeline's threads and the
Supervisor's summary pass side by side, so its resident memory grows with
arenas that mostly hold freed blocks: measured on the whole `train
--train_inception` process, 8,644 MB with glibc's default and 7,158 MB
with two arenas, at the same step time (benchmarks/README.md, "Phase 2's
memory").

`limit_arenas()` is called by train when it runs as a program, never on
import. It uses mallopt(M_ARENA_MAX), which takes effect for arenas made
after the call, and leaves the environment alone. A user who sets
``MALLOC_ARENA_MAX`` keeps that value (glibc read it at start); where the
C library has no mallopt (not glibc) nothing changes.
"""

import ctypes
import os

ENV_VAR = "MALLOC_ARENA_MAX"
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(count=ARENAS):
  """Caps the process's malloc arenas at `count` unless the user chose.

  Returns:
    The cap set, or None when nothing was changed (MALLOC_ARENA_MAX set,
    no mallopt, or mallopt refused).
  """
  if os.environ.get(ENV_VAR):
    return None
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (OSError, AttributeError):
    return None
  mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
  mallopt.restype = ctypes.c_int
  if mallopt(_M_ARENA_MAX, count) != 1:
    return None
  return count
