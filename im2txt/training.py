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
"""Building and starting a Show and Tell training run: the library of train.

* ``build_configs``: the run's ModelConfig and TrainingConfig;
* ``learning_rate_for``: the original's schedule (staircase decay in phase
  1, a constant fine-tuning rate in phase 2);
* ``build_training_graph``: model, optimizer and saver in a new graph;
* ``check_train_dir``: checks the config saved in train_dir;
* ``describe_data_loss``: names the file of a corrupt input record;
* ``calibrate_random_encoder``: the step-0 checkpoint of a run without the
  Inception checkpoint.
"""

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf
import tf_slim as slim

from im2txt import configuration
from im2txt import file_io
from im2txt import show_and_tell_model
from im2txt.data import records
from im2txt.ops import feature_inputs
from im2txt.ops import image_embedding
from im2txt.ops import inputs as input_ops

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
  decay_steps = int(num_batches_per_epoch *
                    training_config.num_epochs_per_decay)

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
    path = saver.save(sess, file_io.join(train_dir, "model.ckpt"),
                      global_step=model.global_step)
  finally:
    coord.request_stop()
    sess.close()  # Cancels the enqueues the reader threads are blocked in.
    coord.join(threads, stop_grace_period_secs=10)
  tf.logging.info("Wrote the initial checkpoint %s", path)
  return path


def check_train_dir(train_dir, model_config):
  """Checks the model config saved in train_dir against this run's.

  Writes nothing: train saves the run's configs only once the run starts.

  Returns:
    The latest checkpoint path in train_dir, or None.

  Raises:
    configuration.ConfigMismatchError: If the saved config gives other
      variable shapes.
  """
  saved = configuration.load_model_config(train_dir)
  if saved is not None:
    configuration.check_compatible(
        saved, model_config,
        file_io.join(train_dir, configuration.MODEL_CONFIG_FILENAME))
  return tf.train.latest_checkpoint(train_dir)


def describe_data_loss(error, file_pattern, features=False):
  """The message for a DataLossError of the input pipeline: TensorFlow's
  names no file, so the input files (feature shards if `features`) are
  scanned for the corrupt record."""
  corrupt = records.find_first_corrupt(
      feature_inputs.match_feature_files(file_pattern) if features else
      input_ops.match_input_files(file_pattern))
  where = str(corrupt) if corrupt is not None else (
      "a corrupt record in %s (%s)" % (file_pattern,
                                       error.message.splitlines()[-1]))
  return ("%s. Every restart would stop at it again: rebuild that file, or "
          "leave it out of the input pattern. verify_records "
          "--input_file_pattern=... lists every bad file." % where)
