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

from im2txt import tf_compat  # noqa: F401  (TF1 behaviour, tf-slim fixes)

import tensorflow.compat.v1 as tf
import tf_slim as slim

from im2txt import configuration
from im2txt import show_and_tell_model
from im2txt import training_checks
from im2txt.ops import image_embedding
from im2txt.ops import inputs as input_ops

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
  flags.DEFINE_string("inception_checkpoint_file", "",
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


tf.logging.set_verbosity(tf.logging.INFO)

# Batches used to measure a random encoder's batch-norm statistics.
CALIBRATION_BATCHES = 50


def build_configs(input_file_pattern, inception_checkpoint_file,
                  model_config_file="", training_config_file=""):
  """Returns (ModelConfig, TrainingConfig) with the run's values filled in."""
  model_config = configuration.ModelConfig()
  if model_config_file:
    model_config = configuration.ModelConfig.from_json_file(model_config_file)
  model_config.input_file_pattern = input_file_pattern
  model_config.inception_checkpoint_file = inception_checkpoint_file
  training_config = configuration.TrainingConfig()
  if training_config_file:
    training_config = configuration.TrainingConfig.from_json_file(
        training_config_file)
  return model_config, training_config


def learning_rate_for(training_config, batch_size, train_inception):
  """Returns (learning_rate, learning_rate_decay_fn) for optimize_loss.

  Phase 2 uses a constant fine-tuning rate. Phase 1 starts at
  initial_learning_rate and halves (staircase) every num_epochs_per_decay
  epochs of batch_size examples.
  """
  if train_inception:
    return tf.constant(training_config.train_inception_learning_rate), None
  learning_rate = tf.constant(training_config.initial_learning_rate)
  if training_config.learning_rate_decay_factor <= 0:
    return learning_rate, None
  num_batches_per_epoch = training_config.num_examples_per_epoch / batch_size
  decay_steps = int(num_batches_per_epoch * training_config.num_epochs_per_decay)

  def learning_rate_decay_fn(learning_rate, global_step):
    return tf.train.exponential_decay(
        learning_rate,
        global_step,
        decay_steps=decay_steps,
        decay_rate=training_config.learning_rate_decay_factor,
        staircase=True)

  return learning_rate, learning_rate_decay_fn


def build_training_graph(model_config, training_config, train_inception,
                         calibrate_encoder=False, features_file_pattern="",
                         encoder_dtype="float32"):
  """Builds the model, optimizer and saver in a new graph.

  Args:
    model_config: A ModelConfig.
    training_config: A TrainingConfig.
    train_inception: Whether the encoder trains (phase 2).
    calibrate_encoder: Whether to also build the encoder's batch-norm
      calibration ops (see calibrate_random_encoder).
    features_file_pattern: Optional cached features to train from.
    encoder_dtype: Arithmetic of the frozen encoder's forward pass.

  Returns:
    (graph, model, train_op, saver, calibration_ops)
  """
  g = tf.Graph()
  with g.as_default():
    model = show_and_tell_model.ShowAndTellModel(
        model_config, mode="train", train_inception=train_inception,
        features_file_pattern=features_file_pattern,
        encoder_dtype=encoder_dtype)
    model.build()
    calibration_ops = []
    if calibrate_encoder:
      calibration_ops = image_embedding.batch_norm_calibration_updates(
          model.images)

    learning_rate, learning_rate_decay_fn = learning_rate_for(
        training_config, model_config.batch_size, train_inception)

    # Gradient descent with global-norm clipping; optimize_loss also runs
    # the batch-norm UPDATE_OPS (phase 2) and adds the learning-rate, loss
    # and gradient-norm summaries.
    train_op = slim.optimize_loss(
        loss=model.total_loss,
        global_step=model.global_step,
        learning_rate=learning_rate,
        optimizer=training_config.optimizer,
        clip_gradients=training_config.clip_gradients,
        learning_rate_decay_fn=learning_rate_decay_fn)

    # Created after the optimizer so it covers every variable.
    saver = tf.train.Saver(
        max_to_keep=training_config.max_checkpoints_to_keep)
  return g, model, train_op, saver, calibration_ops


def calibrate_random_encoder(graph, model, saver, calibration_ops, train_dir,
                             num_batches=CALIBRATION_BATCHES):
  """Writes the step-0 checkpoint of a run without an Inception checkpoint.

  The encoder keeps its random weights; its batch-norm statistics are
  measured on `num_batches` training batches (see
  image_embedding.batch_norm_calibration_updates), so that its features
  distinguish images. Training then starts from this checkpoint like any
  restart.

  Returns:
    The path of the checkpoint written.
  """
  with graph.as_default():
    init_op = tf.global_variables_initializer()
  sess = tf.Session(graph=graph)
  coord = tf.train.Coordinator()
  threads = []
  try:
    sess.run(init_op)
    threads = tf.train.start_queue_runners(sess=sess, coord=coord)
    tf.logging.info("Measuring the random encoder's batch-norm statistics on "
                    "%d training batches.", num_batches)
    for _ in range(num_batches):
      sess.run(calibration_ops)
    path = saver.save(sess, os.path.join(train_dir, "model.ckpt"),
                      global_step=model.global_step)
  finally:
    coord.request_stop()
    sess.close()  # Cancels the enqueues the reader threads are blocked in.
    coord.join(threads, stop_grace_period_secs=10)
  tf.logging.info("Wrote the initial checkpoint %s", path)
  return path


def prepare_train_dir(train_dir, model_config, training_config):
  """Creates train_dir, checks a saved config, saves this run's configs.

  Returns:
    The latest checkpoint path in train_dir, or None.
  """
  if not tf.gfile.IsDirectory(train_dir):
    tf.logging.info("Creating training directory: %s", train_dir)
    tf.gfile.MakeDirs(train_dir)
  saved = configuration.load_model_config(train_dir)
  if saved is not None:
    configuration.check_compatible(
        saved, model_config,
        os.path.join(train_dir, configuration.MODEL_CONFIG_FILENAME))
  configuration.save_configs(train_dir, model_config, training_config)
  return tf.train.latest_checkpoint(train_dir)


def checkpoint_global_step(checkpoint_path):
  """Reads the global step stored in a checkpoint."""
  return int(tf.train.load_checkpoint(checkpoint_path).get_tensor("global_step"))


def main(unused_argv):
  model_config, training_config = build_configs(
      FLAGS.input_file_pattern, FLAGS.inception_checkpoint_file,
      FLAGS.model_config_file, FLAGS.training_config_file)

  features = FLAGS.features_file_pattern
  try:
    if features and FLAGS.train_inception:
      raise ValueError("--features_file_pattern trains phase 1 only (the "
                       "encoder frozen); phase 2 needs images "
                       "(--input_file_pattern) and --train_inception=true.")
    # Before any work; the model checks the same when it is built.
    show_and_tell_model.check_encoder_dtype(
        FLAGS.encoder_dtype, FLAGS.train_inception, features)
    training_checks.check_vocab_size(
        features or model_config.input_file_pattern, model_config.vocab_size,
        features=bool(features))
    latest = prepare_train_dir(FLAGS.train_dir, model_config, training_config)
    if features:
      encoder = latest or model_config.inception_checkpoint_file
      if not encoder:
        raise ValueError(
            "Training from features needs the encoder that computed them: "
            "pass --inception_checkpoint_file (as given to cache_features), "
            "or use a train_dir that holds its checkpoint.")
      training_checks.check_features_match_encoder(features, encoder,
                                                   model_config)
  except (input_ops.NoInputFilesError, training_checks.VocabularyMismatchError,
          training_checks.FeatureMismatchError,
          configuration.ConfigMismatchError, ValueError) as e:
    sys.exit("train: error: %s" % e)

  if latest:
    step = checkpoint_global_step(latest)
    tf.logging.info("Resuming from checkpoint %s at global step %d; the "
                    "Inception checkpoint is not used.", latest, step)
    if step >= FLAGS.number_of_steps:
      tf.logging.info(
          "Nothing to do: global step %d has reached --number_of_steps=%d "
          "(an absolute target). Raise it to train further.",
          step, FLAGS.number_of_steps)
      return

  calibrate = not latest and not model_config.inception_checkpoint_file
  g, model, train_op, saver, calibration_ops = build_training_graph(
      model_config, training_config, FLAGS.train_inception,
      calibrate_encoder=calibrate, features_file_pattern=features,
      encoder_dtype=FLAGS.encoder_dtype)

  init_fn = model.init_fn
  if latest:
    init_fn = None  # The Supervisor restores everything from `latest`.
  elif init_fn is not None:
    try:
      training_checks.check_checkpoint_has_variables(
          model_config.inception_checkpoint_file, model.inception_variables)
    except training_checks.CheckpointMismatchError as e:
      sys.exit("train: error: %s" % e)
  else:
    # No Inception checkpoint: a random encoder, with measured batch-norm
    # statistics, saved as step 0 and restored by the Supervisor below.
    calibrate_random_encoder(g, model, saver, calibration_ops, FLAGS.train_dir)

  slim.learning.train(
      train_op,
      FLAGS.train_dir,
      log_every_n_steps=FLAGS.log_every_n_steps,
      graph=g,
      global_step=model.global_step,
      number_of_steps=FLAGS.number_of_steps,
      init_fn=init_fn,
      saver=saver,
      save_summaries_secs=FLAGS.save_summaries_secs,
      save_interval_secs=FLAGS.save_interval_secs)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
