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

Self-critical training (optional third phase, after phase 1 or 2): the same
command with --self_critical --vocab_file=... (and --train_inception=false)
and a larger --number_of_steps; rewards are CIDEr-D against the training
records' references (see im2txt/self_critical.py).
"""

import contextlib
import os
import sys

from absl import flags

from im2txt import cli
from im2txt import onednn_default

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import checkpoints
from im2txt import cluster
from im2txt import configuration
from im2txt import dir_lock
from im2txt import file_io
from im2txt import model_deploy
from im2txt import recompute
from im2txt import self_critical
from im2txt import trainer
from im2txt import training
from im2txt import training_checks
from im2txt.data import schema
from im2txt.ops import image_embedding
from im2txt.inference_utils import vocabulary
from im2txt.ops import scheduled_sampling

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
  flags.DEFINE_boolean("recompute_encoder", False,
                       "Phase 2: recompute the encoder's activations in the "
                       "backward pass instead of keeping them (TensorFlow's "
                       "graph memory optimizer): 0.75x the step's memory "
                       "per image, so larger batches fit, at 1.25x the "
                       "time per step on a CPU (benchmarks/README.md). "
                       "Needs --train_inception.")
  flags.DEFINE_boolean("scheduled_sampling", False,
                       "Feed the decoder its own sampled words instead of the "
                       "ground truth with a probability that grows on the "
                       "schedule of the TrainingConfig's scheduled_sampling_* "
                       "fields (--training_config_file); TensorBoard shows "
                       "scheduled_sampling/truth_probability.")
  flags.DEFINE_boolean("self_critical", False,
                       "Self-critical training (a third phase, the encoder "
                       "frozen): the loss is the policy gradient of sampled "
                       "captions' CIDEr-D minus the greedy caption's, at the "
                       "TrainingConfig's self_critical_learning_rate. Needs "
                       "--vocab_file and a trained checkpoint in train_dir.")
  flags.DEFINE_string("vocab_file", "",
                      "Self-critical only: the word_counts.txt of the "
                      "records (ids -> words for the rewards).")
  flags.DEFINE_string("self_critical_references", "",
                      "Self-critical only: the training records whose "
                      "captions are the references (default: "
                      "--input_file_pattern; needed with "
                      "--features_file_pattern).")
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

  # Several devices of one machine (see im2txt/model_deploy.py).
  flags.DEFINE_integer("num_clones", 1,
                       "Replicas of the model on this machine's devices (GPU "
                       "0..N-1), each with its own batch of batch_size: the "
                       "effective batch is num_clones * batch_size.")
  flags.DEFINE_boolean("clone_on_cpu", False,
                       "Put the clones on virtual CPU devices instead of "
                       "GPUs.")
  # Several machines (see im2txt/cluster.py); or TF_CONFIG.
  flags.DEFINE_string("ps_hosts", "",
                      "Comma-separated host:port of the parameter servers.")
  flags.DEFINE_string("worker_hosts", "",
                      "Comma-separated host:port of the workers (worker 0 is "
                      "the chief).")
  flags.DEFINE_string("job_name", "", "This task's job: ps or worker.")
  flags.DEFINE_integer("task_index", 0, "This task's index in its job.")
  flags.DEFINE_boolean("sync_replicas", False,
                       "Aggregate the workers' gradients before each update "
                       "(SyncReplicasOptimizer) instead of asynchronous "
                       "updates.")
  flags.DEFINE_integer("replicas_to_aggregate", 0,
                       "With --sync_replicas: gradients per update (0: one "
                       "per worker).")
  flags.DEFINE_integer("cluster_wait_secs", 600,
                       "How long a task waits for the parameter servers, and "
                       "a worker for the chief's model, before it gives up.")

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


def _placement():
  """(ClusterTask or None, DeployConfig, SyncSettings or None) from the
  flags and TF_CONFIG; ValueError names what is wrong."""
  task = cluster.resolve(FLAGS.ps_hosts, FLAGS.worker_hosts, FLAGS.job_name,
                         FLAGS.task_index, os.environ)
  deploy = model_deploy.deploy_config(
      num_clones=FLAGS.num_clones, clone_on_cpu=FLAGS.clone_on_cpu,
      worker_device=task.device if task else "",
      num_ps_tasks=task.num_ps if task else 0,
      cluster=task.cluster_spec() if task else None)
  sync = None
  if FLAGS.sync_replicas:
    if task is None:
      raise ValueError("--sync_replicas synchronises the workers of a "
                       "cluster: give --ps_hosts/--worker_hosts/--job_name "
                       "or TF_CONFIG.")
    aggregate = FLAGS.replicas_to_aggregate or task.num_workers
    if not 0 < aggregate <= task.num_workers:
      raise ValueError("--replicas_to_aggregate=%d: expected 1 to the %d "
                       "worker(s)." % (aggregate, task.num_workers))
    sync = training.SyncSettings(aggregate, task.num_workers)
  if task is None or task.job_name != cluster.PS:
    model_deploy.check_devices(
        deploy, len(tf.config.list_physical_devices("GPU")))
  return task, deploy, sync


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  features = FLAGS.features_file_pattern
  train_dir = FLAGS.train_dir
  if file_io.is_local(train_dir):
    train_dir = os.path.abspath(train_dir)
  try:
    task, deploy, sync = _placement()
  except ValueError as e:
    # ClusterConfigError is a ValueError.
    sys.exit("train: error: %s" % e)
  if task is not None and task.job_name == cluster.PS:
    _serve(task)
    return
  is_chief = task is None or task.is_chief
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
    if FLAGS.recompute_encoder and not FLAGS.train_inception:
      raise ValueError("--recompute_encoder saves the encoder's activations "
                       "for its backward pass, which only phase 2 has: add "
                       "--train_inception or drop --recompute_encoder.")
    if FLAGS.scheduled_sampling:
      scheduled_sampling.check_config(training_config)
    if FLAGS.self_critical:
      _check_self_critical_flags()
    # Before any work; the model checks the same when it is built.
    image_embedding.check_encoder_dtype(
        FLAGS.encoder_dtype, FLAGS.train_inception, features)
    training_checks.check_vocab_size(
        features or model_config.input_file_pattern, model_config.vocab_size,
        features=bool(features))
    if is_chief:
      # Only the chief writes to train_dir.
      lock.acquire()
  except (ValueError, dir_lock.LockError) as e:
    # NoInputFilesError, VocabularyMismatchError and a bad config file are
    # ValueErrors.
    sys.exit("train: error: %s" % e)
  try:
    if is_chief:
      _train(train_dir, model_config, training_config, features, task,
             deploy, sync)
    else:
      _train_worker(train_dir, model_config, training_config, features,
                    task, deploy, sync)
  finally:
    if is_chief:
      lock.release()


def _check_self_critical_flags():
  """Raises ValueError if --self_critical cannot run with these flags."""
  if FLAGS.train_inception or FLAGS.scheduled_sampling:
    raise ValueError("--self_critical keeps the encoder frozen and decodes "
                     "its own samples: drop --train_inception and "
                     "--scheduled_sampling.")
  if not FLAGS.vocab_file:
    raise ValueError("--self_critical needs --vocab_file (the "
                     "word_counts.txt of the training records).")
  if FLAGS.features_file_pattern and not FLAGS.self_critical_references:
    raise ValueError("--self_critical with --features_file_pattern needs "
                     "--self_critical_references: the training records "
                     "whose captions are the references.")
  vocabulary.Vocabulary(FLAGS.vocab_file)  # Readable, with <S> and </S>.


def _self_critical_rewards(train_dir):
  """The CaptionRewards of --self_critical (None without it); the
  references are cached in train_dir when it is given (the chief)."""
  if not FLAGS.self_critical:
    return None
  pattern = FLAGS.self_critical_references or FLAGS.input_file_pattern
  try:
    references = self_critical.load_references(pattern, train_dir)
  except self_critical.ReferencesError as e:
    sys.exit("train: error: %s" % e)
  return self_critical.CaptionRewards(
      references, vocabulary.Vocabulary(FLAGS.vocab_file),
      "the records matching %s" % pattern)


def _warn_if_untrained(latest):
  """Self-critical rewards of a decoder that has not learned captions yet
  are noise: says so (the run still starts, as asked)."""
  if not FLAGS.self_critical:
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


def _serve(task):
  """A parameter server: serves until every worker is done."""
  tf.logging.info("Starting %s.", task.describe())
  server = cluster.start_server(task)
  cluster.run_parameter_server(task, server, tf.logging.info)


def _connect(task):
  """Waits for the parameter servers, starts this worker's server; returns
  its target ("" in one process)."""
  if task is None:
    return ""
  tf.logging.info("Starting %s.", task.describe())
  try:
    cluster.wait_for_parameter_servers(task, FLAGS.cluster_wait_secs,
                                       tf.logging.info)
  except cluster.ClusterUnreachableError as e:
    sys.exit("train: error: %s" % e)
  return cluster.start_server(task).target


def _train_worker(train_dir, model_config, training_config, features, task,
                  deploy, sync):
  """A worker that is not the chief: builds the same graph and trains with
  the variables the chief initialised or restored."""
  built = training.build_training_graph(
      model_config, training_config, FLAGS.train_inception,
      features_file_pattern=features, encoder_dtype=FLAGS.encoder_dtype,
      deploy=deploy, sync=sync, scheduled_sampling=FLAGS.scheduled_sampling,
      self_critical_rewards=_self_critical_rewards(""))
  _mark_for_recomputation(built)
  _run(built, train_dir, None, task, deploy, _connect(task))


def _exit_now(message):
  """Exits with status 1 at once: after a lost server, TensorFlow objects
  of the dead session can block the interpreter's normal shutdown."""
  sys.stderr.write(message + "\n")
  sys.stderr.flush()
  sys.stdout.flush()
  os._exit(1)  # pylint: disable=protected-access


@contextlib.contextmanager
def _run_errors():
  """Turns the errors of a running session into one clear exit."""
  try:
    yield
  except trainer.TrainingInterrupted as e:
    _exit_now("train: error: %s" % e)
  except trainer.CONNECTION_ERRORS as e:
    _exit_now("train: error: %s" % trainer.describe_lost_server(
        e, FLAGS.train_dir))
  except tf.errors.DataLossError as e:
    features = FLAGS.features_file_pattern
    sys.exit("train: error: %s" % training.describe_data_loss(
        e, features or FLAGS.input_file_pattern, bool(features)))


def _session_config(task, deploy):
  proto = model_deploy.session_config(
      deploy, task.device_filters() if task else None)
  if FLAGS.recompute_encoder:
    recompute.enable(proto)
  return proto


def _mark_for_recomputation(built):
  """With --recompute_encoder, marks the encoder's forward ops of `built`."""
  if FLAGS.recompute_encoder:
    count = recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE)
    tf.logging.info("Recomputing the encoder's activations in the backward "
                    "pass (%d ops marked).", count)


def _run(built, train_dir, init_fn, task, deploy, master):
  """Trains `built` as this process's part: alone (task None) or as a task
  of the cluster whose server is `master`."""
  done_ops = []
  if task is not None:
    with built.graph.as_default():
      done_ops = cluster.done_token_ops(task)
  with _run_errors():
    trainer.run(built, train_dir, FLAGS.number_of_steps,
                log_every_n_steps=FLAGS.log_every_n_steps, init_fn=init_fn,
                save_summaries_secs=FLAGS.save_summaries_secs,
                save_interval_secs=FLAGS.save_interval_secs, master=master,
                is_chief=task is None or task.is_chief,
                session_config=_session_config(task, deploy),
                done_ops=done_ops, startup_wait_secs=FLAGS.cluster_wait_secs)


def _train(train_dir, model_config, training_config, features, task, deploy,
           sync):
  """The chief (or the only process), once the flags are checked and
  train_dir is locked."""
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
    if step >= FLAGS.number_of_steps and task is None:
      tf.logging.info(
          "Nothing to do: global step %d has reached --number_of_steps=%d "
          "(an absolute target). Raise it to train further.",
          step, FLAGS.number_of_steps)
      return

  _warn_if_untrained(latest)
  calibrate = not latest and not model_config.inception_checkpoint_file
  built = training.build_training_graph(
      model_config, training_config, FLAGS.train_inception,
      calibrate_encoder=calibrate and task is None,
      features_file_pattern=features, encoder_dtype=FLAGS.encoder_dtype,
      deploy=deploy, sync=sync, scheduled_sampling=FLAGS.scheduled_sampling,
      self_critical_rewards=_self_critical_rewards(train_dir))
  _mark_for_recomputation(built)

  init_fn = built.model.init_fn
  if latest:
    init_fn = None  # The Supervisor restores everything from `latest`.
  elif init_fn is not None:
    try:
      checkpoints.check_has_variables(
          model_config.inception_checkpoint_file,
          built.model.inception_variables)
    except checkpoints.CheckpointMismatchError as e:
      sys.exit("train: error: %s" % e)

  master = _connect(task)
  # The run really starts: its configuration goes beside the checkpoints
  # (not earlier, so that a start that failed leaves nothing that would
  # refuse or mislead the next run).
  configuration.save_configs(train_dir, model_config, training_config)
  if calibrate:
    # No Inception checkpoint: a random encoder, with measured batch-norm
    # statistics, saved as step 0 and restored by the Supervisor below. In a
    # cluster it is measured in a graph of this process alone: the other
    # workers wait for the variables the Supervisor restores from it,
    # rather than train while they are measured.
    measured = built if task is None else training.build_training_graph(
        model_config, training_config, FLAGS.train_inception,
        calibrate_encoder=True, features_file_pattern=features,
        encoder_dtype=FLAGS.encoder_dtype)
    with _run_errors():
      training.calibrate_random_encoder(
          measured.graph, measured.model, measured.saver,
          measured.calibration_ops, train_dir,
          session_config=_session_config(None, deploy))
  _run(built, train_dir, init_fn, task, deploy, master)


def run():
  """Console-script entry point (also `python -m` and the Bazel binary):
  the program, not an import, chooses oneDNN's kernels."""
  onednn_default.use_onednn_kernels()
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
