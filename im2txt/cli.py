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
"""Entry points shared by the command-line binaries."""

import sys

from absl import app
from absl import flags


def run_main(main, module_name, define_flags=None):
  """Defines the flags and runs `main` with absl.

  Binaries define their flags in a function rather than at import, so that
  library users and tests can import several binaries' modules (absl
  refuses a flag defined twice).

  absl's --help lists the flags of the module named by sys.argv[0]; a
  console script installed by pip (im2txt-train) is not the module that
  defines them (im2txt.train), so they are registered for it as well.

  Args:
    main: The main(argv) function.
    module_name: __name__ of the module that defines the binary's flags.
    define_flags: Function that defines them.
  """
  if define_flags is not None:
    define_flags()
  for flag in flags.FLAGS.get_key_flags_for_module(module_name):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  try:
    app.run(main)
  except SystemExit as e:
    # absl exits with status 1 after printing help; help that was asked for
    # is a success.
    if e.code == 1 and _HELP_FLAGS.intersection(sys.argv[1:]):
      raise SystemExit(0)
    raise


def define_encoder_dtype_flag(module_name):
  """Defines --encoder_dtype for the binary of `module_name`.

  (image_embedding.COMPUTE_DTYPES; not imported here, to keep this module
  free of TensorFlow.)
  """
  if module_name == "__main__":
    module_name = sys.argv[0]  # As absl names a script's own flags.
  flags.DEFINE_enum(
      "encoder_dtype", "float32", ["float32", "bfloat16"],
      "Arithmetic of the frozen Inception v3 encoder. bfloat16 runs its "
      "convolutions about twice as fast on processors with bfloat16 "
      "instructions (AVX-512 BF16, AMX) and changes features slightly "
      "(see benchmarks/README.md); checkpoints are the same either way.",
      module_name=module_name)


_HELP_FLAGS = frozenset(["-h", "-?", "--help", "--helpshort", "--helpfull",
                         "--helpxml"])
