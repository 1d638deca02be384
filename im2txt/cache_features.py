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
r"""Caches the frozen encoder's outputs of a split, for phase-1 training.

  cache_features --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
    --output_dir="${MSCOCO_DIR}/features" \
    --inception_checkpoint_file="${INCEPTION_CHECKPOINT}" --num_crops=1

Phase 1 keeps Inception v3 frozen, so each image's 2048-d encoder output
depends only on its preprocessing. This runs the encoder once per image and
crop and writes, for every records shard <name>, a feature shard
<output_dir>/features-<name> and its description features-<name>.json
(schema in im2txt/data/feature_records.py). A feature shard has one record
per image, with all the image's captions in the split: the builder spreads
an image's captions over several shards, and each image is encoded once, in
one of the shards that hold its captions (chosen by image id, so that the
feature shards are about equally large). `train --features_file_pattern`
then trains the
embedding and LSTM from them, much faster, with the same loss, learning-rate
schedule and checkpoint layout.

The encoder comes from --inception_checkpoint_file (the official Inception v3
checkpoint, as for train) or from --checkpoint_path (a model checkpoint or
train directory, e.g. one whose random encoder train calibrated); train
refuses features made by another encoder than the one it saves.

--num_crops=K stores K crops per image: crop 0 is the evaluation
preprocessing (resize, central crop), crops 1..K-1 are random training
distortions (crop, flip, colour), of which training draws one per caption.
Image training draws a fresh distortion every time; K crops only
approximate that.

Resumable: shards whose description matches (same source, encoder, crops and
image sizes) are kept; each shard and description is written to a temporary
file and renamed, so a killed run leaves no partial shard.
"""

import sys

from absl import flags

from im2txt.common import cli
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt import configuration
from im2txt.features import encoder_cache

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_shared_flag(
      "input_file_pattern",
      "TFRecord pattern of the split to encode. Required.",
      __name__)
  flags.DEFINE_string("output_dir", "", "Directory of the feature shards.")
  flags.DEFINE_string("inception_checkpoint_file", "",
                      "Inception v3 checkpoint with the encoder's weights.")
  cli.define_shared_flag(
      "checkpoint_path",
      "Or: a model checkpoint (prefix or train directory) "
      "whose encoder to use.",
      __name__)
  cli.define_shared_flag(
      "model_config_file",
      "Optional ModelConfig JSON (image sizes); default: "
      "model_config.json beside --checkpoint_path, else the "
      "built-in defaults.",
      __name__)
  flags.DEFINE_integer("num_crops", 1,
                       "Crops per image: 1 = evaluation preprocessing only.")
  cli.define_shared_flag(
      "batch_size",
      "Images per encoder batch.",
      __name__, default=32)
  cli.define_encoder_dtype_flag(__name__)
  for name in ("input_file_pattern", "output_dir"):
    flags.register_validator(name, bool, message="--%s is required." % name)


def _encoder_and_config(inception_checkpoint_file, checkpoint_path,
                        model_config_file):
  """(encoder checkpoint, ModelConfig) of the flags' values."""
  if bool(inception_checkpoint_file) == bool(checkpoint_path):
    raise encoder_cache.FeatureCacheError(
        "Give exactly one of --inception_checkpoint_file and "
        "--checkpoint_path.")
  if not checkpoint_path:
    model_config = configuration.ModelConfig()
    if model_config_file:
      model_config = configuration.ModelConfig.from_json_file(
          model_config_file)
    return inception_checkpoint_file, model_config
  checkpoint = checkpoints.resolve(checkpoint_path)
  model_config = checkpoints.model_config_for(checkpoint,
                                              model_config_file)
  if (not model_config_file and
      not checkpoints.has_saved_model_config(checkpoint)):
    tf.logging.warning(
        "No %s beside %s and no --model_config_file: using the default "
        "ModelConfig (%dx%d images). train refuses features of another "
        "image size than its model's.", configuration.MODEL_CONFIG_FILENAME,
        checkpoint, model_config.image_height, model_config.image_width)
  return checkpoint, model_config


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  try:
    checkpoint, model_config = _encoder_and_config(
        FLAGS.inception_checkpoint_file, FLAGS.checkpoint_path,
        FLAGS.model_config_file)
    summary = encoder_cache.cache_features(
        FLAGS.input_file_pattern, FLAGS.output_dir, model_config, checkpoint,
        FLAGS.num_crops, FLAGS.batch_size, FLAGS.encoder_dtype)
  except ValueError as e:
    # FeatureCacheError, NoInputFilesError, CheckpointNotFoundError and a
    # bad --model_config_file are all ValueErrors.
    sys.exit("cache_features: error: %s" % e)
  print("Feature shards: %d written, %d kept; %d images, %d captions encoded"
        % (summary["shards_written"], summary["shards_kept"],
           summary["images"], summary["captions"]))
  if summary["skipped_images"]:
    print("cache_features: %d images could not be decoded and were skipped "
          "(see the log)" % summary["skipped_images"], file=sys.stderr)
    sys.exit(1)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
