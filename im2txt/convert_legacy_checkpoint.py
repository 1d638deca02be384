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
r"""Converts an im2txt checkpoint of TensorFlow 0.x or 1.0-1.1 to today's.

  convert_legacy_checkpoint \
    --input_checkpoint=${MODEL_DIR}/model.ckpt-2000000 \
    --output_checkpoint=${MODEL_DIR}/converted/model.ckpt-2000000

Renames the LSTM variables (lstm/BasicLSTMCell/Linear/Matrix and /Bias of
TensorFlow 0.10-0.12, lstm/basic_lstm_cell/weights and /biases of 1.0-1.1)
to lstm/basic_lstm_cell/kernel and /bias, and writes every variable, the
global step included, as a checkpoint in the current (V2) format, with a
`checkpoint` index in the output folder. --input_checkpoint may be a V1
file (one file, no .index). The output's global step is the input's, so
train resumes from it and evaluate labels it with it. See
im2txt/serving/legacy_checkpoints.py for the names.
"""

import sys

from absl import flags

from im2txt.common import cli
from im2txt.serving import legacy_checkpoints

import tensorflow.compat.v1 as tf

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("input_checkpoint", "",
                      "Checkpoint prefix (or V1 checkpoint file) to convert.")
  flags.DEFINE_string("output_checkpoint", "",
                      "Checkpoint prefix to write, e.g. "
                      "converted/model.ckpt-2000000 (must not exist).")


def main(argv):
  if len(argv) > 1:
    sys.exit("convert_legacy_checkpoint: error: unexpected arguments %s"
             % " ".join(argv[1:]))
  if not FLAGS.input_checkpoint or not FLAGS.output_checkpoint:
    sys.exit("convert_legacy_checkpoint: error: --input_checkpoint and "
             "--output_checkpoint are required.")
  tf.logging.set_verbosity(tf.logging.INFO)
  try:
    renames = legacy_checkpoints.convert(FLAGS.input_checkpoint,
                                         FLAGS.output_checkpoint)
  except legacy_checkpoints.LegacyCheckpointError as e:
    sys.exit("convert_legacy_checkpoint: error: %s" % e)
  for old, new in sorted(renames.items()):
    print("renamed %s -> %s" % (old, new))
  if not renames:
    print("%s already uses the current names; rewritten unchanged."
          % FLAGS.input_checkpoint)
  print("Wrote %s" % FLAGS.output_checkpoint)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
