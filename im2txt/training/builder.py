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
* ``build_training_graph``: model (one or several clones, see
  model_deploy), optimizer and saver in a new graph;
* ``check_train_dir``: checks the config saved in train_dir;
* ``describe_data_loss``: names the file of a corrupt input record;
* ``calibrate_random_encoder``: the step-0 checkpoint of a run without the
  Inception checkpoint.
"""

import collections
import contextlib
import functools

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf
from tf_slim.data import prefetch_queue
from tf_slim.layers import optimizers

from im2txt import configuration
from im2txt.common import file_io
from im2txt.serving import legacy_checkpoints
from im2txt.training import guarded_saver
from im2txt.training import model_deploy
from im2txt.training import self_critical as self_critical_lib
from im2txt import show_and_tell_model
from im2txt.data import records
from im2txt.data import tokenizers
from im2txt.ops import feature_inputs
from im2txt.ops import image_embedding
from im2txt.ops import inputs as input_ops
from im2txt.ops import model_inputs
from im2txt.ops import scheduled_sampling as scheduled_sampling_ops

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


def learning_rate_for(training_config, batch_size, train_inception,
                      self_critical=False):
  """Returns (learning_rate, learning_rate_decay_fn) for optimize_loss.

  Phase 2 uses a constant fine-tuning rate, self-critical training its own
  constant rate. Phase 1 starts at initial_learning_rate and halves
  (staircase) every num_epochs_per_decay epochs of batch_size examples.
  """
  if self_critical:
    return tf.constant(training_config.self_critical_learning_rate), None
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


# What build_training_graph returns. `model` is the first clone's
# ShowAndTellModel; `total_loss` the loss the train op returns (the
# word-weighted mean over clones); `summary_op` merges the summaries outside
# clones 1..N-1; `sync_optimizer` is the SyncReplicasOptimizer or None, and
# `sync` its SyncSettings; `self_critical` the first clone's
# self_critical.SelfCriticalLoss (None without self-critical training).
TrainingGraph = collections.namedtuple(
    "TrainingGraph",
    ["graph", "model", "train_op", "saver", "calibration_ops", "total_loss",
     "summary_op", "sync_optimizer", "sync", "clones", "self_critical"])

# SyncReplicasOptimizer settings: (replicas_to_aggregate, total_num_replicas).
SyncSettings = collections.namedtuple(
    "SyncSettings", ["replicas_to_aggregate", "total_num_replicas"])


def build_training_graph(model_config, training_config, train_inception,
                         calibrate_encoder=False, features_file_pattern="",
                         encoder_dtype="float32", deploy=None, sync=None,
                         clone_batches=None, scheduled_sampling=False,
                         self_critical_rewards=None):
  """Builds the model (one or several clones), optimizer and saver in a new
  graph.

  Args:
    model_config: A ModelConfig.
    training_config: A TrainingConfig.
    train_inception: Whether the encoder trains (phase 2).
    calibrate_encoder: Whether to also build the encoder's batch-norm
      calibration ops (see calibrate_random_encoder).
    features_file_pattern: Optional cached features to train from.
    encoder_dtype: Arithmetic of the frozen encoder's forward pass.
    deploy: A model_deploy.DeployConfig (default: one device, one process).
    sync: Optional SyncSettings: aggregate the gradients of several workers
      with a SyncReplicasOptimizer before each update.
    clone_batches: Optional function (clone index) -> model_inputs.InputBatch
      giving each clone a fixed batch instead of reading records.
    scheduled_sampling: Whether the decoder reads its own samples on the
      training config's schedule (ops/scheduled_sampling.py).
    self_critical_rewards: Self-critical training (the encoder frozen):
      a self_critical.CaptionRewards; each clone's loss is then the policy
      gradient of self_critical.build_loss, at the training config's
      self_critical_learning_rate.

  Returns:
    A TrainingGraph.
  """
  deploy = deploy or model_deploy.deploy_config()
  self_critical = self_critical_rewards is not None
  if self_critical and (train_inception or scheduled_sampling):
    raise ValueError("Self-critical training keeps the encoder frozen and "
                     "decodes its own samples: it cannot be combined with "
                     "--train_inception or --scheduled_sampling.")
  g = tf.Graph()
  with g.as_default():
    batch_for_clone = clone_batches
    if batch_for_clone is None and deploy.num_clones > 1:
      batch_for_clone = _shared_input_queue(model_config, features_file_pattern,
                                            deploy, image_ids=self_critical)
    elif batch_for_clone is None and self_critical:
      # The rewards need each row's image id.
      batch_for_clone = lambda unused_index: model_inputs.read_batch(
          model_config, True, features_file_pattern, image_ids=True)

    truth_probability_fn = None
    if scheduled_sampling:
      scheduled_sampling_ops.check_config(training_config)
      truth_probability_fn = functools.partial(
          scheduled_sampling_ops.truth_probability, training_config)

    def build_clone(index):
      model = show_and_tell_model.ShowAndTellModel(
          model_config, mode="train", train_inception=train_inception,
          features_file_pattern=features_file_pattern,
          encoder_dtype=encoder_dtype,
          input_batch=batch_for_clone(index) if batch_for_clone else None,
          truth_probability_fn=truth_probability_fn)
      model.build()
      if self_critical:
        vocab = self_critical_rewards.vocab
        self_critical_losses.append(self_critical_lib.build_loss(
            model, model.input_batch.image_ids, self_critical_rewards,
            vocab.start_id, vocab.end_id,
            training_config.self_critical_max_caption_length,
            add_summaries=index == 0))
      return model

    self_critical_losses = []
    clones = model_deploy.create_clones(deploy, build_clone)
    model = clones[0].outputs
    if self_critical:
      losses = [sc.loss for sc in self_critical_losses]
      # A clone's weight: its sampled words (the loss's denominator).
      weights = [tf.reduce_sum(sc.decoded.sample_mask)
                 for sc in self_critical_losses]
    else:
      losses = [c.outputs.total_loss for c in clones]
      # A clone's target words: the sum of its loss weights (the mask).
      weights = [tf.reduce_sum(c.outputs.target_cross_entropy_loss_weights)
                 for c in clones]
    calibration_ops = []
    if calibrate_encoder:
      calibration_ops = image_embedding.batch_norm_calibration_updates(
          model.images)
    # The update's own ops (learning rate, sums, the sync optimizer's local
    # step) on this process's CPU; variable updates go with the variables.
    with _device(model_deploy.inputs_device(deploy)):
      train_op, total_loss, sync_optimizer = _optimize(
          deploy, clones, losses, weights, training_config,
          model_config.batch_size, train_inception, sync, self_critical)
    summary_op = tf.summary.merge(
        model_deploy.first_clone_collection(tf.GraphKeys.SUMMARIES))

    # Created after the optimizer so it covers every variable.
    saver = tf.train.Saver(
        max_to_keep=training_config.max_checkpoints_to_keep)
  return TrainingGraph(g, model, train_op, saver, calibration_ops, total_loss,
                       summary_op, sync_optimizer, sync, clones,
                       (self_critical_losses or [None])[0])


def _device(name):
  """tf.device(name), or nothing for None."""
  return tf.device(name) if name else contextlib.nullcontext()


def _shared_input_queue(model_config, features_file_pattern, deploy,
                        image_ids=False):
  """One reading pipeline on this process's CPU, into a queue of whole
  batches; returns a function giving each clone its own dequeued batch."""
  with tf.device(model_deploy.inputs_device(deploy)):
    batch = model_inputs.read_batch(model_config, True, features_file_pattern,
                                    image_ids=image_ids)
    tensors = {k: v for k, v in batch._asdict().items() if v is not None}
    queue = prefetch_queue.prefetch_queue(
        tensors, capacity=2 * deploy.num_clones, dynamic_pad=True,
        name="clone_batch_queue")

  def dequeue(unused_index):
    fields = queue.dequeue()
    return model_inputs.InputBatch(
        **{k: fields.get(k) for k in model_inputs.InputBatch._fields})

  return dequeue


def _optimize(deploy, clones, losses, weights, training_config, batch_size,
              train_inception, sync, self_critical=False):
  """The update of the original's optimize_loss (learning rate and its
  decay, gradient clipping by global norm, the same summary tags), from the
  gradients of all clones' `losses` (each clone weighted by its `weights`
  share); with `sync`, through a SyncReplicasOptimizer.

  Returns:
    (train_op, total_loss, sync_optimizer or None)
  """
  model = clones[0].outputs
  global_step = model.global_step
  with tf.variable_scope("OptimizeLoss"):
    learning_rate, decay_fn = learning_rate_for(
        training_config, batch_size, train_inception, self_critical)
    if decay_fn is not None:
      learning_rate = decay_fn(learning_rate, global_step)
    tf.summary.scalar("learning_rate", learning_rate)
    optimizer = optimizers.OPTIMIZER_CLS_NAMES[training_config.optimizer](
        learning_rate=learning_rate)
    sync_optimizer = None
    if sync is not None:
      optimizer = sync_optimizer = tf.train.SyncReplicasOptimizer(
          optimizer, replicas_to_aggregate=sync.replicas_to_aggregate,
          total_num_replicas=sync.total_num_replicas)

    total_loss, grads_and_vars = model_deploy.clone_gradients(
        deploy, clones, optimizer, losses, weights)
    gradients, variables = zip(*grads_and_vars)
    tf.summary.scalar("global_norm/gradient_norm", tf.global_norm(gradients))
    if training_config.clip_gradients:
      gradients, _ = tf.clip_by_global_norm(gradients,
                                            training_config.clip_gradients)
    tf.summary.scalar("loss", total_loss)
    tf.summary.scalar("global_norm/clipped_gradient_norm",
                      tf.global_norm(gradients))
    # Batch-norm moving averages (phase 2) of the first clone.
    update_ops = model_deploy.first_clone_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      apply_op = optimizer.apply_gradients(
          list(zip(gradients, variables)), global_step=global_step,
          name="train")
    with tf.control_dependencies([apply_op]):
      train_op = tf.identity(total_loss, name="train_op")
  return train_op, total_loss, sync_optimizer


def calibrate_random_encoder(graph, model, saver, calibration_ops, train_dir,
                             num_batches=CALIBRATION_BATCHES,
                             session_config=None):
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
  sess = tf.Session(graph=graph, config=session_config)
  coord = tf.train.Coordinator()
  threads = []
  try:
    sess.run(init_op)
    threads = tf.train.start_queue_runners(sess=sess, coord=coord)
    tf.logging.info("Measuring the random encoder's batch-norm statistics on "
                    "%d training batches.", num_batches)
    for _ in range(num_batches):
      sess.run(calibration_ops)
    guarded = guarded_saver.GuardedSaver(saver, train_dir, model.global_step,
                                         graph.get_collection(
                                             tf.GraphKeys.GLOBAL_VARIABLES))
    path = guarded.save(sess, file_io.join(train_dir, "model.ckpt"),
                        global_step=model.global_step)
    guarded.check()
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
    legacy_checkpoints.LegacyCheckpointError: If the latest checkpoint has
      the LSTM names of an older TensorFlow (converter command named).
  """
  saved = configuration.load_model_config(train_dir)
  if saved is not None:
    source = file_io.join(train_dir, configuration.MODEL_CONFIG_FILENAME)
    configuration.check_compatible(saved, model_config, source)
    tokenizers.check_same(
        tokenizers.from_description(saved.to_dict(), source),
        "The model in %s" % train_dir,
        tokenizers.from_description(model_config.to_dict(), "this run"),
        "this run's records")
  latest = tf.train.latest_checkpoint(train_dir)
  if latest:
    legacy_checkpoints.check_current(latest)
  return latest


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
