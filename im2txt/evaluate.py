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
r"""Evaluates a Show and Tell model's perplexity on the validation split.

  evaluate --input_file_pattern="${MSCOCO_DIR}/val-?????-of-00004" \
    --checkpoint_dir="${MODEL_DIR}/train" --eval_dir="${MODEL_DIR}/eval"

Runs in a loop beside training. Every --eval_interval_secs it evaluates each
checkpoint in --checkpoint_dir that it has not evaluated yet, oldest first,
on --num_eval_examples examples, and writes the per-word perplexity
(``Perplexity``), the mean per-word cross entropy (``eval/loss``) and the
model's summaries of one batch to --eval_dir at the checkpoint's global
step. The evaluated steps are remembered in eval_dir/evaluated_steps.json,
so no checkpoint is evaluated twice, even across restarts, and none is
skipped while it still exists (train keeps the latest 5).

With --num_caption_eval_images=N (and --vocab_file) each checkpoint also
captions the first N distinct images of the split with beam search and
writes their BLEU-1..4, METEOR, ROUGE-L and CIDEr as summaries
``caption_metrics/<metric>`` beside the perplexity, the captions as
eval_dir/captions-<step>.json and the scores to eval_dir/caption_metrics.json
(see im2txt/evaluation/caption_evaluation.py).

With --features_file_pattern (cache_features' shards of the split, made
with the phase-1 encoder) a checkpoint whose encoder made them is
evaluated from them: the same examples' perplexity and the same images'
captions, without running Inception v3 again (feature_evaluation.py); a
checkpoint of another encoder (phase 2) is evaluated from the images of
--input_file_pattern when it is given, else refused with its name. The log
says which way each checkpoint went; the TensorBoard tags are the same.

--run_once evaluates what is there and exits. --eval_on_cpu keeps the job
off the GPUs (instead of CUDA_VISIBLE_DEVICES="") so that it can share a
machine with training.
"""

import functools
import math
import os
import sys
import time

from absl import flags

from im2txt.common import cli
from im2txt.common import onednn_default

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_evaluation
from im2txt.evaluation import eval_state
from im2txt.evaluation import feature_evaluation
from im2txt.evaluation import perplexity as perplexity_lib
from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.data import feature_records
from im2txt.serving import legacy_checkpoints
from im2txt import show_and_tell_model
from im2txt.training import builder
from im2txt.ops import inputs as input_ops

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_shared_flag(
      "input_file_pattern",
      "File pattern of sharded TFRecord input files. Required.",
      __name__)
  flags.DEFINE_string("checkpoint_dir", "",
                      "Directory containing model checkpoints. Required.")
  flags.DEFINE_string("eval_dir", "",
                      "Directory to write event logs. Required.")
  flags.DEFINE_integer("eval_interval_secs", 600,
                       "Interval between evaluation runs (start to start).")
  flags.DEFINE_integer("num_eval_examples", 10132,
                       "Number of examples for evaluation.")
  flags.DEFINE_integer("min_global_step", 5000,
                       "Minimum global step to run evaluation.")
  flags.DEFINE_boolean("run_once", False,
                       "Evaluate the checkpoints present once, then exit.")
  flags.DEFINE_boolean("eval_on_cpu", False,
                       "Run on the CPU only, leaving GPUs to training.")
  cli.define_shared_flag(
      "model_config_file",
      "Optional ModelConfig JSON; default: model_config.json "
      "in --checkpoint_dir, else the built-in defaults.",
      __name__)
  flags.DEFINE_integer("num_caption_eval_images", 0,
                       "If > 0, also caption this many images of the split "
                       "per checkpoint and write their caption metrics.")
  cli.define_shared_flag(
      "vocab_file",
      "word_counts.txt; required with "
      "--num_caption_eval_images.",
      __name__)
  flags.DEFINE_integer(
      "caption_eval_beam_size", 3,
      "Beam size of the captions of --num_caption_eval_images.")

  flags.DEFINE_string(
      "features_file_pattern", "",
      "cache_features' shards of the split (phase 1's fast path): each "
      "checkpoint whose encoder made them is evaluated from them, without "
      "running Inception v3 again (same perplexity and captions); others "
      "(phase 2) from --input_file_pattern when given, else refused.")
  flags.register_multi_flags_validator(
      ["input_file_pattern", "features_file_pattern"],
      lambda f: bool(f["input_file_pattern"] or f["features_file_pattern"]),
      message="--input_file_pattern (or --features_file_pattern) is "
      "required.")
  flags.register_validator("checkpoint_dir", bool,
                           message="--checkpoint_dir is required.")
  flags.register_validator("eval_dir", bool, message="--eval_dir is required.")
  flags.register_multi_flags_validator(
      ["num_caption_eval_images", "vocab_file"],
      lambda f: f["num_caption_eval_images"] <= 0 or bool(f["vocab_file"]),
      message="--num_caption_eval_images needs --vocab_file.")


EVALUATED_STEPS_FILENAME = eval_state.EVALUATED_STEPS_FILENAME
FAILED_FILENAME = eval_state.FAILED_FILENAME


class NothingEvaluatedError(ValueError):
  """evaluate --run_once found no checkpoint it could evaluate."""


def evaluate_model(sess, model, global_step, summary_writer, summary_op,
                   num_eval_examples=10132):
  """Computes perplexity-per-word over an evaluation dataset.

  Summaries and perplexity-per-word are written out to the eval directory.

  Args:
    sess: Session object.
    model: Instance of ShowAndTellModel; the model to evaluate.
    global_step: Integer; global step of the model checkpoint.
    summary_writer: Instance of FileWriter.
    summary_op: Op for generating model summaries (None to skip).
    num_eval_examples: Number of examples to evaluate.

  Returns:
    The perplexity (float).
  """
  # The model's summaries of one batch (this consumes one batch).
  if summary_op is not None:
    summary_str = sess.run(summary_op)
    summary_writer.add_summary(summary_str, global_step)

  # Per-word perplexity: exp of the total cross entropy over all real target
  # words divided by their number (not an average of batch averages).
  num_eval_batches = int(
      math.ceil(num_eval_examples / model.config.batch_size))

  start_time = time.time()
  sums = perplexity_lib.Sums()
  for i in range(num_eval_batches):
    sums.add(*sess.run([model.target_cross_entropy_losses,
                        model.target_cross_entropy_loss_weights]))
    if not i % 100:
      tf.logging.info("Computed losses for %d of %d batches.", i + 1,
                      num_eval_batches)
  perplexity = perplexity_lib.write(summary_writer, global_step, sums,
                                    time.time() - start_time)
  tf.logging.info("Finished processing evaluation at global step %d.",
                  global_step)
  return perplexity


def run_once(model, saver, summary_writer, summary_op, checkpoint_path,
             global_step, num_eval_examples=10132, session_config=None):
  """Evaluates one checkpoint in a new session.

  Args:
    model: The eval-mode ShowAndTellModel (its graph is the default graph).
    saver: A Saver over all variables.
    summary_writer: FileWriter of the eval directory.
    summary_op: Merged summaries of the model.
    checkpoint_path: Checkpoint prefix to evaluate.
    global_step: Its global step.
    num_eval_examples: Number of examples to evaluate.
    session_config: Optional tf.ConfigProto.

  Returns:
    The perplexity.

  Raises:
    checkpoints.CheckpointFault: If the checkpoint vanished or cannot be
      restored.
    tf.errors.DataLossError: If an evaluation record is corrupt.
  """
  sess = tf.Session(config=session_config)
  coord = tf.train.Coordinator()
  threads = []
  try:
    tf.logging.info("Loading model from checkpoint: %s", checkpoint_path)
    checkpoints.restore(saver, sess, checkpoint_path)
    tf.logging.info("Successfully loaded %s at global step = %d.",
                    os.path.basename(checkpoint_path), global_step)

    # New session, new queues: every evaluation reads the same examples from
    # the start of the first file.
    threads = tf.train.start_queue_runners(sess=sess, coord=coord)
    return evaluate_model(
        sess=sess,
        model=model,
        global_step=global_step,
        summary_writer=summary_writer,
        summary_op=summary_op,
        num_eval_examples=num_eval_examples)
  finally:
    coord.request_stop()
    # Closing the session cancels the enqueue ops that reader threads are
    # blocked in, so that they exit at once.
    sess.close()
    coord.join(threads, stop_grace_period_secs=10)


def _nothing_evaluated(checkpoint_dir, eval_dir, evaluated, below_min,
                       min_global_step, failed, unusable):
  """Why a --run_once pass evaluated no checkpoint, in one line."""
  if not tf.train.get_checkpoint_state(checkpoint_dir):
    reasons = ["it holds no checkpoint index"]
  else:
    reasons = list(unusable)
    if below_min:
      reasons.append("%d below --min_global_step=%d (steps %s)" % (
          len(below_min), min_global_step,
          ", ".join(str(s) for s in sorted(below_min))))
    if failed and not unusable:
      reasons.append("%d recorded as unreadable in %s" % (
          len(failed), file_io.join(eval_dir, FAILED_FILENAME)))
    if evaluated:
      reasons.append("every other one was evaluated before (steps in %s)"
                     % file_io.join(eval_dir, EVALUATED_STEPS_FILENAME))
    if not reasons:
      reasons = ["its checkpoint index lists no existing checkpoint"]
  return "--run_once evaluated no checkpoint of %s: %s." % (
      checkpoint_dir, "; ".join(reasons))


def run(input_file_pattern, checkpoint_dir, eval_dir, eval_interval_secs=600,
        num_eval_examples=10132, min_global_step=5000, run_once_only=False,
        eval_on_cpu=False, model_config_file="", caption_evaluator_fn=None,
        features_file_pattern=""):
  """Builds the eval graph and evaluates new checkpoints in a loop.

  Args:
    input_file_pattern: TFRecord pattern of the split (usually val).
    checkpoint_dir: The train_dir whose checkpoints to evaluate.
    eval_dir: Folder of the event files and evaluated_steps.json.
    eval_interval_secs: Seconds from the start of one pass over the
      checkpoints to the start of the next.
    num_eval_examples: Examples per perplexity evaluation.
    min_global_step: Checkpoints of a smaller global step are skipped.
    run_once_only: Evaluate what is there once, then return.
    eval_on_cpu: Hide the GPUs from the evaluation sessions.
    model_config_file: Optional ModelConfig JSON; default: the
      model_config.json in checkpoint_dir, else the defaults.
    caption_evaluator_fn: Optional function of (model_config, session_config)
      returning a caption_evaluation.CaptionEvaluator, run on each checkpoint
      after its perplexity.
    features_file_pattern: Optional cache_features shards of the split: a
      checkpoint whose encoder made them is evaluated from them
      (feature_evaluation.py); another from images if input_file_pattern
      is given, else refused (named in the log and in --run_once's error).

  Returns:
    A dict {global_step: perplexity} of this call's evaluations (only with
    run_once_only; otherwise it loops for ever).

  Raises:
    NothingEvaluatedError: With run_once_only, if no checkpoint was
      evaluated; the message says why (none, already evaluated, below
      min_global_step, unreadable, vanished).
  """
  if file_io.is_local(checkpoint_dir):
    # The checkpoint index lists paths relative to the directory it is in;
    # with an absolute directory they resolve the same from any cwd.
    checkpoint_dir = os.path.abspath(checkpoint_dir)
  file_io.makedirs(eval_dir)
  model_config = checkpoints.model_config_for(checkpoint_dir,
                                              model_config_file)
  model_config.input_file_pattern = input_file_pattern
  session_config = None
  if eval_on_cpu:
    session_config = tf.ConfigProto(device_count={"GPU": 0})

  caption_evaluator = None
  if caption_evaluator_fn is not None:
    caption_evaluator = caption_evaluator_fn(model_config, session_config)
  from_features = None
  if features_file_pattern:
    from_features = feature_evaluation.FeaturePerplexity(
        model_config, features_file_pattern, num_eval_examples,
        input_file_pattern, session_config)

  g = tf.Graph()
  with g.as_default():
    model = saver = summary_op = None
    if input_file_pattern:
      model = show_and_tell_model.ShowAndTellModel(model_config, mode="eval")
      model.build()
      saver = tf.train.Saver()
      summary_op = tf.summary.merge_all()
    summary_writer = tf.summary.FileWriter(eval_dir)
    g.finalize()

    results = {}
    evaluated = eval_state.load_evaluated_steps(eval_dir)
    failed = eval_state.load_failed(eval_dir)
    # Below min_global_step: skipped (and logged) once per process, not
    # recorded, so a later run with a lower threshold still evaluates them.
    below_min = set()
    unusable = []  # This pass's checkpoints that could not be evaluated.
    refused = set()  # Steps whose encoder is not the features' (no images).
    while True:
      start = time.time()
      tf.logging.info("Starting evaluation at " + time.strftime(
          "%Y-%m-%d-%H:%M:%S", time.localtime()))
      pending = eval_state.checkpoints_to_evaluate(
          checkpoint_dir, evaluated | below_min | refused, failed)
      if not pending and not tf.train.latest_checkpoint(checkpoint_dir):
        tf.logging.info("Skipping evaluation. No checkpoint found in: %s",
                        checkpoint_dir)
      for step, path in pending:
        if 0 <= step < min_global_step:
          tf.logging.info("Skipping evaluation. Global step = %d < %d", step,
                          min_global_step)
          below_min.add(step)
          continue
        try:
          try:
            if step < 0:
              step = checkpoints.global_step(path)
            legacy_checkpoints.check_current(path)
          except legacy_checkpoints.LegacyCheckpointError:
            raise  # Not a fault of this checkpoint: all need converting.
          except checkpoints.READ_ERRORS as e:
            raise checkpoints.fault(path, e)
          source = _source(path, step, from_features, input_file_pattern)
          if source is None:
            unusable.append("%s was not made by the encoder of the features "
                            "(give --input_file_pattern too)" % path)
            refused.add(step)  # Not again in this process.
            continue
          if source == "features":
            results[step] = from_features.evaluate(path, step,
                                                   summary_writer)
          else:
            results[step] = run_once(model, saver, summary_writer,
                                     summary_op, path, step,
                                     num_eval_examples, session_config)
          if caption_evaluator is not None:
            caption_evaluator.evaluate(path, step, summary_writer, eval_dir,
                                       from_features=source == "features")
        except checkpoints.CheckpointFault as e:
          if e.vanished:
            tf.logging.warning(
                "Checkpoint %s vanished before it was evaluated (training "
                "keeps only the latest max_checkpoints_to_keep); skipped.",
                path)
            unusable.append("%s vanished" % path)
          else:
            unusable.append("%s is unreadable (%s)" % (path, FAILED_FILENAME))
            tf.logging.error("Checkpoint %s cannot be evaluated: %s. "
                             "Recorded in %s; going on.", path, e.reason,
                             FAILED_FILENAME)
            failed[path] = e.reason
            eval_state.save_failed(eval_dir, failed)
          continue
        evaluated.add(step)
        eval_state.save_evaluated_steps(eval_dir, evaluated)
      if run_once_only:
        summary_writer.close()
        if not results:
          raise NothingEvaluatedError(_nothing_evaluated(
              checkpoint_dir, eval_dir, evaluated, below_min, min_global_step,
              failed, unusable))
        return results
      time_to_next_eval = start + eval_interval_secs - time.time()
      if time_to_next_eval > 0:
        time.sleep(time_to_next_eval)


def _source(path, step, from_features, input_file_pattern):
  """"features", "images" or None (refused): what a checkpoint is
  evaluated from, logged."""
  if from_features is not None:
    if feature_records.encoder_fingerprint(path) == from_features.fingerprint:
      tf.logging.info("Global step %d: evaluated from the cached features "
                      "(its encoder made them).", step)
      return "features"
    if not input_file_pattern:
      tf.logging.error(
          "Global step %d (%s) is not evaluated: its encoder is not the one "
          "of %s that made the features (a phase-2 checkpoint?). Give "
          "--input_file_pattern too, to evaluate such checkpoints from "
          "images.", step, path, from_features.encoder_checkpoint)
      return None
    tf.logging.info("Global step %d: evaluated from images (its encoder is "
                    "not the features' one).", step)
  return "images"


def _caption_evaluator(vocab_file, input_file_pattern, num_images, beam_size,
                       features_file_pattern, model_config, session_config):
  """The CaptionEvaluator of --num_caption_eval_images (exits on a bad
  vocabulary or metrics setup)."""
  try:
    return caption_evaluation.CaptionEvaluator(
        model_config, vocab_file, input_file_pattern, num_images,
        beam_size=beam_size, session_config=session_config,
        features_file_pattern=features_file_pattern)
  except ValueError as e:
    # MetricsError, VocabularyFileError and VocabularyMismatchError are
    # ValueErrors.
    sys.exit("evaluate: error: %s" % e)


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  try:
    if FLAGS.input_file_pattern:
      input_ops.match_input_files(FLAGS.input_file_pattern)
    if FLAGS.features_file_pattern:
      feature_evaluation.cache_fingerprint(FLAGS.features_file_pattern)
  except ValueError as e:
    # NoInputFilesError and FeatureEvaluationError are ValueErrors.
    sys.exit("evaluate: error: %s" % e)
  caption_evaluator_fn = None
  if FLAGS.num_caption_eval_images > 0:
    caption_evaluator_fn = functools.partial(
        _caption_evaluator, FLAGS.vocab_file, FLAGS.input_file_pattern,
        FLAGS.num_caption_eval_images, FLAGS.caption_eval_beam_size,
        FLAGS.features_file_pattern)
  try:
    run(FLAGS.input_file_pattern, FLAGS.checkpoint_dir, FLAGS.eval_dir,
        eval_interval_secs=FLAGS.eval_interval_secs,
        num_eval_examples=FLAGS.num_eval_examples,
        min_global_step=FLAGS.min_global_step,
        run_once_only=FLAGS.run_once,
        eval_on_cpu=FLAGS.eval_on_cpu,
        model_config_file=FLAGS.model_config_file,
        caption_evaluator_fn=caption_evaluator_fn,
        features_file_pattern=FLAGS.features_file_pattern)
  except feature_evaluation.FeatureEvaluationError as e:
    sys.exit("evaluate: error: %s" % e)
  except tf.errors.DataLossError as e:
    sys.exit("evaluate: error: %s" % builder.describe_data_loss(
        e, FLAGS.input_file_pattern))
  except (legacy_checkpoints.LegacyCheckpointError,
          NothingEvaluatedError) as e:
    sys.exit("evaluate: error: %s" % e)


def console_main():
  """Console-script entry point (also `python -m` and the Bazel binary):
  the program, not an import, chooses oneDNN's kernels."""
  onednn_default.use_onednn_kernels()
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  console_main()
