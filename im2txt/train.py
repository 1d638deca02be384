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
command with --self_critical (and --train_inception=false)
and a larger --number_of_steps; rewards are CIDEr-D against the training
records' references (see im2txt/training/self_critical.py).
"""

import collections
import os
import sys

from absl import flags

from im2txt.common import cli
from im2txt.common import malloc_arenas
from im2txt.common import onednn_default

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import dir_lock
from im2txt.common import file_io
from im2txt.ops import image_embedding
from im2txt.ops import scheduled_sampling
from im2txt.training import builder
from im2txt.training import cluster
from im2txt.training import preflight
from im2txt.training import recompute
from im2txt.training import roles

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  # Required.
  cli.define_shared_flag(
      "input_file_pattern",
      "File pattern of sharded TFRecord input files "
      "(comma-separated patterns allowed). Required.",
      __name__)
  flags.DEFINE_string("train_dir", "",
                      "Directory for saving and loading model checkpoints. "
                      "Required.")
  # Optional, as in the original.
  flags.DEFINE_string(
      "inception_checkpoint_file", "",
      "Path to a pretrained inception_v3 checkpoint, used only "
      "when train_dir has no checkpoint yet. Empty: the encoder "
      "starts from random weights (with a warning).")
  flags.DEFINE_string(
      "extend_checkpoint", "",
      "Start a new train_dir from this checkpoint (or the latest in this "
      "folder; its model_config.json beside it) of a smaller vocabulary "
      "that this run's extends (build_mscoco_data --base_vocab_file): "
      "its variables are restored, the old words' embedding and logits "
      "rows at their ids, the new words' rows initialised; global step "
      "and optimizer slots start again. Used only when train_dir has no "
      "checkpoint; instead of --inception_checkpoint_file.")
  flags.DEFINE_string(
      "extend_vocab_file", "",
      "With --extend_checkpoint: the checkpoint's word_counts.txt "
      "(default: the --base_vocab_file the records were built with).")
  flags.DEFINE_boolean("train_inception", False,
                       "Whether to train the Inception v3 submodel variables "
                       "(phase 2).")
  flags.DEFINE_boolean("recompute_encoder", False,
                       "Phase 2: drop the encoder's activations after the "
                       "forward pass and recompute them, segment by "
                       "segment, when the backward pass needs them "
                       "(TensorFlow's graph memory optimizer), so larger "
                       "batches fit; more time per step "
                       "(benchmarks/README.md). Needs --train_inception.")
  flags.DEFINE_string("recompute_encoder_blocks", recompute.DEFAULT_BLOCKS,
                      "With --recompute_encoder: the encoder's segments, "
                      "comma-separated, each a block (stem layers, "
                      "Mixed_5b ... Mixed_7c) or blocks joined by '+'; "
                      "'stem' is the stem's seven layers; 'whole' recomputes "
                      "every encoder op as one whole. Each segment's output "
                      "is kept, its inside recomputed.")
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
                       "a trained checkpoint in train_dir.")
  cli.define_shared_flag(
      "vocab_file",
      "Self-critical only: the word_counts.txt of the "
      "records (ids -> words for the rewards); default: the "
      "one beside the reference records.",
      __name__)
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
  flags.DEFINE_boolean("summaries_in_train_step", True,
                       "Compute the summaries in the training step they "
                       "describe (the first step, one every "
                       "--save_summaries_secs, and the last step). "
                       "--nosummaries_in_train_step: "
                       "the original's summary thread, a separate pass beside "
                       "the steps on a batch of its own that is not trained "
                       "on (in phase 2 about 2 GB more at the process's "
                       "peak at batch 32).")
  cli.define_shared_flag(
      "model_config_file",
      "Optional JSON file of ModelConfig fields overriding the "
      "defaults (for example a smaller vocab_size).",
      __name__)
  flags.DEFINE_string("training_config_file", "",
                      "Optional JSON file of TrainingConfig fields overriding "
                      "the defaults.")

  flags.DEFINE_string("features_file_pattern", "",
                      "Phase 1 only: train from these cached encoder outputs "
                      "(cache_features) instead of --input_file_pattern.")
  cli.define_encoder_dtype_flag(__name__)

  # Several devices of one machine (see im2txt/training/model_deploy.py).
  flags.DEFINE_integer("num_clones", 1,
                       "Replicas of the model on this machine's devices (GPU "
                       "0..N-1), each with its own batch of batch_size: the "
                       "effective batch is num_clones * batch_size.")
  flags.DEFINE_boolean("clone_on_cpu", False,
                       "Put the clones on virtual CPU devices instead of "
                       "GPUs.")
  # Several machines (see im2txt/training/cluster.py); or TF_CONFIG.
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


# What main() passes down: one field per flag of define_flags (the
# helpers below take it and read no flag themselves).
TrainSettings = collections.namedtuple("TrainSettings", [
    "input_file_pattern",
    "train_dir",
    "inception_checkpoint_file",
    "extend_checkpoint",
    "extend_vocab_file",
    "train_inception",
    "recompute_encoder",
    "recompute_encoder_blocks",
    "scheduled_sampling",
    "self_critical",
    "vocab_file",
    "self_critical_references",
    "number_of_steps",
    "log_every_n_steps",
    "save_interval_secs",
    "save_summaries_secs",
    "summaries_in_train_step",
    "model_config_file",
    "training_config_file",
    "features_file_pattern",
    "num_clones",
    "clone_on_cpu",
    "ps_hosts",
    "worker_hosts",
    "job_name",
    "task_index",
    "sync_replicas",
    "replicas_to_aggregate",
    "cluster_wait_secs",
    "encoder_dtype",
])


def settings_from_flags(flag_values):
  """The TrainSettings of parsed flags (absl's FlagValues)."""
  return TrainSettings(**{name: flag_values[name].value
                          for name in TrainSettings._fields})


# The lock file that keeps a second trainer out of a train_dir.
LOCK_FILENAME = ".train.lock"


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  settings = settings_from_flags(FLAGS)
  features = settings.features_file_pattern
  train_dir = settings.train_dir
  if file_io.is_local(train_dir):
    train_dir = os.path.abspath(train_dir)
  try:
    task, deploy, sync = roles.placement(settings)
  except ValueError as e:
    # ClusterConfigError is a ValueError.
    sys.exit("train: error: %s" % e)
  if task is not None and task.job_name == cluster.PS:
    roles.run_parameter_server(task)
    return
  is_chief = task is None or task.is_chief
  lock = dir_lock.DirectoryLock(train_dir, LOCK_FILENAME,
                                log=tf.logging.warning)
  try:
    model_config, training_config = builder.build_configs(
        settings.input_file_pattern, settings.inception_checkpoint_file,
        settings.model_config_file, settings.training_config_file)
    if features and settings.train_inception:
      raise ValueError("--features_file_pattern trains phase 1 only (the "
                       "encoder frozen); phase 2 needs images "
                       "(--input_file_pattern) and --train_inception=true.")
    if settings.recompute_encoder and not settings.train_inception:
      raise ValueError("--recompute_encoder saves the encoder's activations "
                       "for its backward pass, which only phase 2 has: add "
                       "--train_inception or drop --recompute_encoder.")
    if settings.recompute_encoder:
      recompute.segments_of(settings.recompute_encoder_blocks)
    if settings.scheduled_sampling:
      scheduled_sampling.check_config(training_config)
    if settings.self_critical:
      roles.check_self_critical_settings(settings)
    # Before any work; the model checks the same when it is built.
    image_embedding.check_encoder_dtype(
        settings.encoder_dtype, settings.train_inception, features)
    preflight.check_vocab_size(
        features or model_config.input_file_pattern, model_config.vocab_size,
        features=bool(features))
    if not features:
      preflight.adopt_data_tokenizer(model_config,
                                     model_config.input_file_pattern)
    else:
      preflight.adopt_features_tokenizer(model_config, features, train_dir)
    # Before train_dir is touched: parameter servers that are not there,
    # or not TensorFlow servers, and a port that is taken end the run here.
    master = roles.connect(settings, task)
    if is_chief:
      # Only the chief writes to train_dir.
      lock.acquire()
  except (ValueError, dir_lock.LockError, cluster.ClusterUnreachableError,
          cluster.ServerStartError) as e:
    # NoInputFilesError, VocabularyMismatchError and a bad config file are
    # ValueErrors.
    sys.exit("train: error: %s" % e)
  try:
    if is_chief:
      roles.train_chief(settings, train_dir, model_config, training_config,
                        features, task, deploy, sync, master)
    else:
      roles.train_worker(settings, train_dir, model_config, training_config,
                         features, task, deploy, sync, master)
  finally:
    if is_chief:
      lock.release()


def run():
  """Console-script entry point (also `python -m` and the Bazel binary):
  the program, not an import, chooses oneDNN's kernels and caps malloc's
  arenas."""
  onednn_default.use_onednn_kernels()
  malloc_arenas.limit_arenas()
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
