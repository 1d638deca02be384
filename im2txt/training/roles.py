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
"""What each process of a training run does, given train's settings.

The train binary (im2txt/train.py) parses its flags into a TrainSettings
and, after its checks, hands the run to one of:

* ``run_parameter_server``: a parameter server, serving until the workers
  are done;
* ``train_chief``: the chief, or the only process: checks train_dir and the
  inputs against it, builds the training graph (with the step-0
  calibration of a random encoder when there is no Inception checkpoint),
  saves the configs beside the checkpoints and runs the loop;
* ``train_worker``: another worker: the same graph, on the variables the
  chief initialised or restored.

``placement`` resolves the cluster and devices of the settings;
``check_self_critical_settings`` refuses self-critical runs that cannot
start. Errors end the process with a one-line "train: error: ..." message.
"""

import contextlib
import os
import sys

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.common import checkpoints
from im2txt.data import build_manifest
from im2txt.data import schema
from im2txt.inference_utils import vocabulary
from im2txt.ops import inputs as input_ops
from im2txt.training import builder
from im2txt.training import cluster
from im2txt.training import guarded_saver
from im2txt.training import model_deploy
from im2txt.training import preflight
from im2txt.training import recompute
from im2txt.training import self_critical
from im2txt.training import vocabulary_extension
from im2txt.training import loop


def placement(settings):
  """(ClusterTask or None, DeployConfig, SyncSettings or None) from the
  flags and TF_CONFIG; ValueError names what is wrong."""
  task = cluster.resolve(settings.ps_hosts, settings.worker_hosts,
                         settings.job_name, settings.task_index, os.environ)
  deploy = model_deploy.deploy_config(
      num_clones=settings.num_clones, clone_on_cpu=settings.clone_on_cpu,
      worker_device=task.device if task else "",
      num_ps_tasks=task.num_ps if task else 0,
      cluster=task.cluster_spec() if task else None)
  sync = None
  if settings.sync_replicas:
    if task is None:
      raise ValueError("--sync_replicas synchronises the workers of a "
                       "cluster: give --ps_hosts/--worker_hosts/--job_name "
                       "or TF_CONFIG.")
    aggregate = settings.replicas_to_aggregate or task.num_workers
    if not 0 < aggregate <= task.num_workers:
      raise ValueError("--replicas_to_aggregate=%d: expected 1 to the %d "
                       "worker(s)." % (aggregate, task.num_workers))
    sync = builder.SyncSettings(aggregate, task.num_workers)
  if task is None or task.job_name != cluster.PS:
    model_deploy.check_devices(
        deploy, len(tf.config.list_physical_devices("GPU")))
  return task, deploy, sync


def check_self_critical_settings(settings):
  """Raises ValueError if --self_critical cannot run with these flags."""
  if settings.train_inception or settings.scheduled_sampling:
    raise ValueError("--self_critical keeps the encoder frozen and decodes "
                     "its own samples: drop --train_inception and "
                     "--scheduled_sampling.")
  if settings.features_file_pattern and not settings.self_critical_references:
    raise ValueError("--self_critical with --features_file_pattern needs "
                     "--self_critical_references: the training records "
                     "whose captions are the references.")
  # Readable, with <S> and </S>.
  vocabulary.Vocabulary(self_critical_vocab_file(settings))


def _references_pattern(settings):
  return settings.self_critical_references or settings.input_file_pattern


def self_critical_vocab_file(settings):
  """--vocab_file, else the word_counts.txt beside the reference records
  (where the builder wrote it).

  Raises:
    ValueError: If neither exists (NoInputFilesError for no records).
  """
  if settings.vocab_file:
    return settings.vocab_file
  pattern = _references_pattern(settings)
  found = preflight.vocab_file_beside(pattern)
  if not found:
    raise ValueError("--self_critical needs the vocabulary of the records "
                     "(ids -> words for the rewards): there is no %s beside "
                     "the records matching %s; pass --vocab_file."
                     % (preflight.VOCAB_FILENAME, pattern))
  return found


def _self_critical_rewards(settings, train_dir):
  """The CaptionRewards of --self_critical (None without it); the
  references are cached in train_dir when it is given (the chief)."""
  if not settings.self_critical:
    return None
  pattern = _references_pattern(settings)
  try:
    references = self_critical.load_references(pattern, train_dir)
    vocab_file = self_critical_vocab_file(settings)
  except (self_critical.ReferencesError, ValueError) as e:
    sys.exit("train: error: %s" % e)
  tf.logging.info("Self-critical rewards: words of %s, references of the "
                  "records matching %s", vocab_file, pattern)
  return self_critical.CaptionRewards(
      references, vocabulary.Vocabulary(vocab_file),
      "the records matching %s" % pattern)


def _warn_if_untrained(settings, latest):
  """Self-critical rewards of a decoder that has not learned captions yet
  are noise: says so (the run still starts, as asked)."""
  if not settings.self_critical:
    return
  step = checkpoints.global_step(latest) if latest else 0
  if step == 0:
    tf.logging.warning(
        "--self_critical starts from %s: that decoder has never been "
        "trained, so its sampled and greedy captions are noise and the "
        "CIDEr rewards are meaningless. Train phase 1 (and 2) first, then "
        "continue the same train_dir with --self_critical.",
        "the step-0 checkpoint %s" % latest if latest else
        "no checkpoint in train_dir")


def run_parameter_server(task):
  """A parameter server: serves until every worker is done."""
  tf.logging.info("Starting %s.", task.describe())
  try:
    server = cluster.start_server(task)
  except cluster.ServerStartError as e:
    sys.exit("train: error: %s" % e)
  cluster.run_parameter_server(task, server, tf.logging.info)


def connect(settings, task):
  """Waits until a TensorFlow server answers at every parameter server's
  address, then starts this worker's server; returns its target ("" in
  one process). Called before anything is written to train_dir.

  Raises:
    cluster.ClusterUnreachableError, cluster.ServerStartError: naming the
      address.
  """
  if task is None:
    return ""
  tf.logging.info("Starting %s.", task.describe())
  cluster.wait_for_parameter_servers(task, settings.cluster_wait_secs,
                                     tf.logging.info)
  return cluster.start_server(task).target


def train_worker(settings, train_dir, model_config, training_config,
                  features, task, deploy, sync, master):
  """A worker that is not the chief: builds the same graph and trains with
  the variables the chief initialised or restored."""
  built = builder.build_training_graph(
      model_config, training_config, settings.train_inception,
      features_file_pattern=features, encoder_dtype=settings.encoder_dtype,
      deploy=deploy, sync=sync, scheduled_sampling=settings.scheduled_sampling,
      self_critical_rewards=_self_critical_rewards(settings, ""))
  _mark_for_recomputation(settings, built)
  _run(settings, built, train_dir, None, task, deploy, master)


def _exit_now(message):
  """Exits with status 1 at once: after a lost server, TensorFlow objects
  of the dead session can block the interpreter's normal shutdown."""
  sys.stderr.write(message + "\n")
  sys.stderr.flush()
  sys.stdout.flush()
  os._exit(1)  # pylint: disable=protected-access


@contextlib.contextmanager
def _run_errors(settings):
  """Turns the errors of a running session into one clear exit."""
  try:
    yield
  except loop.TrainingInterrupted as e:
    _exit_now("train: error: %s" % e)
  except guarded_saver.CheckpointSaveError as e:
    sys.exit("train: error: %s" % e)
  except loop.CONNECTION_ERRORS as e:
    _exit_now("train: error: %s" % loop.describe_lost_server(
        e, settings.train_dir))
  except tf.errors.DataLossError as e:
    features = settings.features_file_pattern
    sys.exit("train: error: %s" % builder.describe_data_loss(
        e, features or settings.input_file_pattern, bool(features)))
  except checkpoints.CheckpointFault as e:
    # The Inception checkpoint, read at step 0.
    sys.exit("train: error: cannot restore the checkpoint %s" % e)


def _session_config(settings, task, deploy):
  proto = model_deploy.session_config(
      deploy, task.device_filters() if task else None)
  if settings.recompute_encoder:
    recompute.enable(proto)
  return proto


def _mark_for_recomputation(settings, built):
  """With --recompute_encoder, marks the encoder's forward ops of `built`."""
  if settings.recompute_encoder:
    segments = recompute.segments_of(settings.recompute_encoder_blocks)
    count = recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE,
                                   segments)
    tf.logging.info(
        "Recomputing the encoder's activations in the backward pass (%s; "
        "%d ops marked).", "the whole encoder" if segments is None else
        "%d segments: %s" % (len(segments), settings.recompute_encoder_blocks),
        count)


def _run(settings, built, train_dir, init_fn, task, deploy, master,
         on_ready=None):
  """Trains `built` as this process's part: alone (task None) or as a task
  of the cluster whose server is `master`; the chief calls on_ready() once
  its session is initialised or restored."""
  done_ops = []
  if task is not None:
    with built.graph.as_default():
      done_ops = cluster.done_token_ops(task)
  with _run_errors(settings):
    loop.run(built, train_dir, settings.number_of_steps,
             log_every_n_steps=settings.log_every_n_steps, init_fn=init_fn,
             save_summaries_secs=settings.save_summaries_secs,
             save_interval_secs=settings.save_interval_secs, master=master,
             is_chief=task is None or task.is_chief,
             session_config=_session_config(settings, task, deploy),
             done_ops=done_ops, startup_wait_secs=settings.cluster_wait_secs,
             on_ready=on_ready,
             summaries_in_step=settings.summaries_in_train_step)


def _run_vocab_file(settings, features):
  """This run's word_counts.txt: beside its records, or --vocab_file."""
  vocab_file = settings.vocab_file or preflight.vocab_file_beside(
      features or settings.input_file_pattern, features=bool(features))
  if not vocab_file:
    raise ValueError("--extend_checkpoint needs this run's vocabulary: no "
                     "word_counts.txt beside the records; pass --vocab_file.")
  return vocab_file


def _extended_vocab_file(settings, features):
  """The extended checkpoint's word_counts.txt: --extend_vocab_file, else
  the base vocabulary the records were built from."""
  if settings.extend_vocab_file:
    return settings.extend_vocab_file
  recorded = None
  if not features:
    recorded = build_manifest.recorded_manifest(
        input_ops.match_input_files(settings.input_file_pattern)[0])
  if not recorded or not recorded[0].get("base_vocab_file"):
    raise ValueError(
        "--extend_checkpoint needs the checkpoint's vocabulary: the records "
        "were not built with --base_vocab_file; pass --extend_vocab_file.")
  return recorded[0]["base_vocab_file"]


def train_chief(settings, train_dir, model_config, training_config, features,
                task, deploy, sync, master):
  """The chief (or the only process), once the flags are checked, the
  cluster connected (`master`, "" alone) and train_dir locked."""
  try:
    latest = builder.check_train_dir(train_dir, model_config)
    if features:
      encoder = latest or model_config.inception_checkpoint_file
      if not encoder:
        raise ValueError(
            "Training from features needs the encoder that computed them: "
            "pass --inception_checkpoint_file (as given to cache_features), "
            "or use a train_dir that holds its checkpoint.")
      preflight.check_features_match_encoder(features, encoder,
                                                   model_config)
  except ValueError as e:
    # FeatureMismatchError and ConfigMismatchError are ValueErrors.
    sys.exit("train: error: %s" % e)

  if latest:
    step = checkpoints.global_step(latest)
    tf.logging.info("Resuming from checkpoint %s at global step %d; the "
                    "Inception checkpoint is not used.", latest, step)
    if step >= settings.number_of_steps and task is None:
      tf.logging.info(
          "Nothing to do: global step %d has reached --number_of_steps=%d "
          "(an absolute target). Raise it to train further.",
          step, settings.number_of_steps)
      return

  extension = None
  if latest and settings.extend_checkpoint:
    tf.logging.info("train_dir holds a checkpoint: --extend_checkpoint is "
                    "not used.")
  elif settings.extend_checkpoint:
    try:
      extension = vocabulary_extension.plan(
          settings.extend_checkpoint,
          _extended_vocab_file(settings, features),
          _run_vocab_file(settings, features), model_config)
    except (ValueError, tf.errors.OpError) as e:
      sys.exit("train: error: %s" % e)
  _warn_if_untrained(settings,
                     latest or (extension and extension.checkpoint))
  calibrate = (not latest and not extension and
               not model_config.inception_checkpoint_file)
  built = builder.build_training_graph(
      model_config, training_config, settings.train_inception,
      calibrate_encoder=calibrate and task is None,
      features_file_pattern=features, encoder_dtype=settings.encoder_dtype,
      deploy=deploy, sync=sync, scheduled_sampling=settings.scheduled_sampling,
      self_critical_rewards=_self_critical_rewards(settings, train_dir))
  _mark_for_recomputation(settings, built)

  init_fn = built.model.init_fn
  if latest:
    init_fn = None  # The Supervisor restores everything from `latest`.
    # Before anything is written: a train_dir without its model_config.json
    # (a copied checkpoint, an older run) and another config would die in
    # the restore with TensorFlow's raw shape error.
    with built.graph.as_default():
      variables = tf.global_variables()
    try:
      checkpoints.check_has_variables(latest, variables)
    except checkpoints.CheckpointMismatchError as e:
      sys.exit("train: error: %s Its model configuration differs from this "
               "run's: pass the one it was trained with (--model_config_file)."
               % e)
  elif extension is not None:
    with built.graph.as_default():
      variables = tf.global_variables()
    try:
      init_fn = vocabulary_extension.init_fn(
          extension.checkpoint, variables, extension.num_old_words,
          extension.num_new_words)
    except checkpoints.CheckpointMismatchError as e:
      sys.exit("train: error: %s" % e)
  elif init_fn is not None:
    try:
      checkpoints.check_has_variables(
          model_config.inception_checkpoint_file,
          built.model.inception_variables)
    except checkpoints.CheckpointMismatchError as e:
      sys.exit("train: error: %s" % e)

  if calibrate:
    # No Inception checkpoint: a random encoder, with measured batch-norm
    # statistics, saved as step 0 and restored by the Supervisor below. In a
    # cluster it is measured in a graph of this process alone: the other
    # workers wait for the variables the Supervisor restores from it,
    # rather than train while they are measured.
    measured = built if task is None else builder.build_training_graph(
        model_config, training_config, settings.train_inception,
        calibrate_encoder=True, features_file_pattern=features,
        encoder_dtype=settings.encoder_dtype)
    with _run_errors(settings):
      builder.calibrate_random_encoder(
          measured.graph, measured.model, measured.saver,
          measured.calibration_ops, train_dir,
          session_config=_session_config(settings, None, deploy))
  # The run's configuration goes beside the checkpoints once the session
  # is initialised or restored (not earlier, so that a start that failed
  # leaves nothing that would refuse or mislead the next run).
  _run(settings, built, train_dir, init_fn, task, deploy, master,
       on_ready=lambda: configuration.save_configs(
           train_dir, model_config, training_config))
