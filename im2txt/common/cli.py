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


def _flag_module(module_name):
  """The module name absl lists a binary's flags under in --help."""
  if module_name == "__main__":
    return sys.argv[0]  # As absl names a script's own flags.
  return module_name


def define_encoder_dtype_flag(module_name):
  """Defines --encoder_dtype for the binary of `module_name`.

  (image_embedding.COMPUTE_DTYPES; not imported here, to keep this module
  free of TensorFlow.)
  """
  flags.DEFINE_enum(
      "encoder_dtype", "float32", ["float32", "bfloat16"],
      "Arithmetic of the frozen Inception v3 encoder. bfloat16 runs its "
      "convolutions about twice as fast on processors with bfloat16 "
      "instructions (AVX-512 BF16, AMX) and changes features slightly "
      "(see benchmarks/README.md); checkpoints are the same either way.",
      module_name=_flag_module(module_name))


def define_captioning_flags(module_name):
  """Defines the flags of the binaries that caption with a checkpoint.

  --checkpoint_path, --vocab_file, the beam search's --beam_size,
  --max_caption_length and --length_normalization_factor, and
  --model_config_file and --encoder_dtype, for run_inference and
  caption_images (one definition, one help text).
  """
  module_name = _flag_module(module_name)
  define_shared_flag(
      "checkpoint_path",
      "Model checkpoint prefix, or a directory holding a "
      "`checkpoint` index file (its latest checkpoint). "
      "Several, comma-separated: an ensemble (the search "
      "uses the average of their log-probabilities).",
      module_name)
  define_shared_flag(
      "vocab_file",
      "Text file containing the vocabulary (word_counts.txt).",
      module_name)
  flags.DEFINE_integer("beam_size", 3, "Beam size of the caption search.",
                       module_name=module_name)
  flags.DEFINE_integer("max_caption_length", 20,
                       "Maximum caption length in words, start and end words "
                       "included.", module_name=module_name)
  flags.DEFINE_float("length_normalization_factor", 0.0,
                     "If > 0, complete captions are scored "
                     "logprob / length**factor (favours longer captions).",
                     module_name=module_name)
  define_shared_flag(
      "model_config_file",
      "Optional ModelConfig JSON; default: model_config.json "
      "beside the checkpoint, else the built-in defaults.",
      module_name)
  define_encoder_dtype_flag(module_name)


_HELP_FLAGS = frozenset(["-h", "-?", "--help", "--helpshort", "--helpfull",
                         "--helpxml"])


# Flags several binaries share: each is defined here, once (its name, type,
# default and bounds); a binary passes the help text of its use.
SHARED_FLAGS = {
    # name: (absl definer, default, extra keyword arguments)
    "input_file_pattern": (flags.DEFINE_string, "", {}),
    "input_files": (flags.DEFINE_string, "", {}),
    "model_config_file": (flags.DEFINE_string, "", {}),
    "vocab_file": (flags.DEFINE_string, "", {}),
    "checkpoint_path": (flags.DEFINE_string, "", {}),
    "frozen_graph_file": (flags.DEFINE_string, "", {}),
    "output_file": (flags.DEFINE_string, "", {}),
    "captions_file": (flags.DEFINE_string, "", {}),
    "batch_size": (flags.DEFINE_integer, None, {"lower_bound": 1}),
}


def define_shared_flag(name, help_text, module_name, default=None):
  """Defines the shared flag `name` (SHARED_FLAGS) for a binary.

  Args:
    name: A key of SHARED_FLAGS.
    help_text: What the flag means to this binary.
    module_name: __name__ of the binary's module.
    default: The default, where the binaries differ (--batch_size).
  """
  definer, shared_default, kwargs = SHARED_FLAGS[name]
  if default is None:
    default = shared_default
  if default is None:
    raise ValueError("--%s needs a default from its binary." % name)
  definer(name, default, help_text, module_name=_flag_module(module_name),
          **kwargs)
