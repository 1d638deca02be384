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
r"""Trains the Show and Tell model.

Phase 1 (frozen Inception v3):

  train --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
    --inception_checkpoint_file="${INCEPTION_CHECKPOINT}" \
    --train_dir="${MODEL_DIR}/train" --train_inception=false \
    --number_of_steps=1000000

Phase 2 (fine-tune everything): the same command with
--train_inception=true and a larger --number_of_steps. --number_of_steps is
an absolute global-step target, not a count of additional steps.

The Inception checkpoint only initialises the encoder when train_dir holds
no checkpoint yet; otherwise training resumes from the latest checkpoint
there (after a crash or kill, run the same command again).

Phase 1 from cached features (see im2txt/cache_features.py): replace
--input_file_pattern by --features_file_pattern. Same loss, learning-rate
schedule and checkpoint layout (the encoder's variables are saved
unchanged), so phase 2, evaluate and run_inference continue from its
checkpoints. The features must come from the encoder this run restores: the
latest checkpoint in train_dir, or --inception_checkpoint_file at step 0.
"""

import os
import sys

from absl import flags

from im2txt import cli

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf
import tf_slim as slim

from im2txt import checkpoints
from im2txt import configuration
from im2txt import dir_lock
from im2txt import file_io
from im2txt import training
from im2txt import training_checks
from im2txt.ops import image_embedding

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  # Required.
  flags.DEFINE_string("input_file_pattern", "",
                      "File pattern of sharded TFRecord input files "
                      "(comma-separated patterns allowed). Required.")
  flags.DEFINE_string("train_dir", "",
                      "Directory for saving and loading model checkpoints. "
                      "Required.")
  # Optional, as in the original.
  flags.DEFINE_string(
      "inception_checkpoint_file", "",
      "Path to a pretrained inception_v3 checkpoint, used only "
      "when train_dir has no checkpoint yet. Empty: the encoder "
      "starts from random weights (with a warning).")
  flags.DEFINE_boolean("train_inception", False,
                       "Whether to train the Inception v3 submodel variables "
                       "(phase 2).")
  flags.DEFINE_integer("number_of_steps", 1000000,
                       "Global step at which training stops (absolute).")
  flags.DEFINE_integer("log_every_n_steps", 1,
                       "Frequency at which loss and global step are logged.")
  # Optional additions (defaults keep the original's behaviour).
  flags.DEFINE_integer("save_interval_secs", 600,
                       "Seconds between checkpoints.")
  flags.DEFINE_integer("save_summaries_secs", 600,
                       "Seconds between TensorBoard summaries.")
  flags.DEFINE_string("model_config_file", "",
                      "Optional JSON file of ModelConfig fields overriding the "
                      "defaults (for example a smaller vocab_size).")
  flags.DEFINE_string("training_config_file", "",
                      "Optional JSON file of TrainingConfig fields overriding "
                      "the defaults.")

  flags.DEFINE_string("features_file_pattern", "",
                      "Phase 1 only: train from these cached encoder outputs "
                      "(cache_features) instead of --input_file_pattern.")
  cli.define_encoder_dtype_flag(__name__)

  flags.register_multi_flags_validator(
      ["input_file_pattern", "features_file_pattern"],
      lambda f: bool(f["input_file_pattern"]) != bool(
          f["features_file_pattern"]),
      message="Give exactly one of --input_file_pattern and "
      "--features_file_pattern.")
  flags.register_validator("train_dir", bool,
                           message="--train_dir is required.")


# The lock file that keeps a second trainer out of a train_dir.
LOCK_FILENAME = ".train.lock"


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  features = FLAGS.features_file_pattern
  train_dir = FLAGS.train_dir
  if file_io.is_local(train_dir):
    train_dir = os.path.abspath(train_dir)
  lock = dir_lock.DirectoryLock(train_dir, LOCK_FILENAME,
                                log=tf.logging.warning)
  try:
    model_config, training_config = training.build_configs(
        FLAGS.input_file_pattern, FLAGS.inception_checkpoint_file,
        FLAGS.model_config_file, FLAGS.training_config_file)
    if features and FLAGS.train_inception:
      raise ValueError("--features_file_pattern trains phase 1 only (the "
                       "encoder frozen); phase 2 needs images "
                       "(--input_file_pattern) and --train_inception=true.")
    # Before any work; the model checks the same when it is built.
    image_embedding.check_encoder_dtype(
        FLAGS.encoder_dtype, FLAGS.train_inception, features)
    training_checks.check_vocab_size(
        features or model_config.input_file_pattern, model_config.vocab_size,
        features=bool(features))
    lock.acquire()
  except (ValueError, dir_lock.LockError) as e:
    # NoInputFilesError, VocabularyMismatchError and a bad config file are
    # ValueErrors.
    sys.exit("train: error: %s" % e)
  try:
    _train(train_dir, model_config, training_config, features)
  finally:
    lock.release()


def _train(train_dir, model_config, training_config, features):
  """main() once the flags are checked and train_dir is locked."""
  try:
    latest = training.check_train_dir(train_dir, model_config)
    if features:
      encoder = latest or model_config.inception_checkpoint_file
      if not encoder:
        raise ValueError(
            "Training from features needs the encoder that computed them: "
            "pass --inception_checkpoint_file (as given to cache_features), "
            "or use a train_dir that holds its checkpoint.")
      training_checks.check_features_match_encoder(features, encoder,
                                                   model_config)
  except ValueError as e:
    # FeatureMismatchError and ConfigMismatchError are ValueErrors.
    sys.exit("train: error: %s" % e)

  if latest:
    step = checkpoints.global_step(latest)
    tf.logging.info("Resuming from checkpoint %s at global step %d; the "
                    "Inception checkpoint is not used.", latest, step)
    if step >= FLAGS.number_of_steps:
      tf.logging.info(
          "Nothing to do: global step %d has reached --number_of_steps=%d "
          "(an absolute target). Raise it to train further.",
          step, FLAGS.number_of_steps)
      return

  calibrate = not latest and not model_config.inception_checkpoint_file
  g, model, train_op, saver, calibration_ops = training.build_training_graph(
      model_config, training_config, FLAGS.train_inception,
      calibrate_encoder=calibrate, features_file_pattern=features,
      encoder_dtype=FLAGS.encoder_dtype)

  init_fn = model.init_fn
  if latest:
    init_fn = None  # The Supervisor restores everything from `latest`.
  elif init_fn is not None:
    try:
      checkpoints.check_has_variables(
          model_config.inception_checkpoint_file, model.inception_variables)
    except checkpoints.CheckpointMismatchError as e:
      sys.exit("train: error: %s" % e)

  # The run really starts: its configuration goes beside the checkpoints
  # (not earlier, so that a start that failed leaves nothing that would
  # refuse or mislead the next run).
  configuration.save_configs(train_dir, model_config, training_config)
  try:
    if init_fn is None and not latest:
      # No Inception checkpoint: a random encoder, with measured batch-norm
      # statistics, saved as step 0 and restored by the Supervisor below.
      training.calibrate_random_encoder(g, model, saver, calibration_ops,
                                        train_dir)
    slim.learning.train(
        train_op,
        train_dir,
        log_every_n_steps=FLAGS.log_every_n_steps,
        graph=g,
        global_step=model.global_step,
        number_of_steps=FLAGS.number_of_steps,
        init_fn=init_fn,
        saver=saver,
        save_summaries_secs=FLAGS.save_summaries_secs,
        save_interval_secs=FLAGS.save_interval_secs)
  except tf.errors.DataLossError as e:
    sys.exit("train: error: %s" % training.describe_data_loss(
        e, features or model_config.input_file_pattern, bool(features)))


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
