"""Evaluation: perplexity checked independently, summaries, checkpoint order."""

import glob
import json
import math
import os
import re
import subprocess
import time
import unittest

import pytest
from tensorboard.backend.event_processing import event_accumulator

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_metrics
from im2txt import evaluate
from im2txt import show_and_tell_model
from im2txt.data import schema
from im2txt.ops import inputs
from tests import testing_utils

pytestmark = pytest.mark.slow


def _perplexities(eval_dir):
  acc = event_accumulator.EventAccumulator(
      eval_dir, size_guidance={event_accumulator.SCALARS: 0})
  acc.Reload()
  return {e.step: e.value for e in acc.Scalars("Perplexity")}


def _independent_perplexity(checkpoint, config, records):
  """Perplexity with the inference graph, one word at a time."""
  sum_loss, num_words = 0.0, 0
  with tf.Graph().as_default():
    model = show_and_tell_model.ShowAndTellModel(config, "inference")
    model.build()
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, checkpoint)
      for record in records:
        state = sess.run(show_and_tell_model.INITIAL_STATE,
                         {show_and_tell_model.IMAGE_FEED: record["image"]})
        ids = record["caption_ids"]
        for word, target in zip(ids[:-1], ids[1:]):
          softmax, state = sess.run(
              [show_and_tell_model.SOFTMAX, show_and_tell_model.STATE],
              {show_and_tell_model.INPUT_FEED: [word],
               show_and_tell_model.STATE_FEED: state})
          sum_loss -= math.log(softmax[0, target])
          num_words += 1
  return math.exp(sum_loss / num_words)


class EvaluateTest(testing_utils.TinyDataTestCase):

  NUM_VAL_IMAGES = 60
  TRAIN_STEPS = 30

  def testPerplexityMatchesIndependentComputation(self):
    # One preprocessing thread reads the val records strictly in order, so
    # 5 batches of 4 take records 0..19 (the 15 records cycle). (The model's
    # merged summaries are left out here: their image summaries dequeue a
    # record outside the batching thread, at a moment that varies.)
    config = testing_utils.tiny_model_config(num_preprocess_threads=1)
    config.input_file_pattern = self.paths["val_pattern"]
    records = [schema.parse_sequence_example_proto(r)
               for path in inputs.match_input_files(self.paths["val_pattern"])
               for r in tf.io.tf_record_iterator(path)]
    self.assertEqual(len(records), 15)
    checkpoint = tf.train.latest_checkpoint(self.train_dir)
    eval_dir = os.path.join(self.root, "eval_independent")
    with tf.Graph().as_default():
      model = show_and_tell_model.ShowAndTellModel(config, mode="eval")
      model.build()
      saver = tf.train.Saver()
      writer = tf.summary.FileWriter(eval_dir)
      perplexity = evaluate.run_once(model, saver, writer, None,
                                     checkpoint, 30, num_eval_examples=20)
      writer.close()
    consumed = [records[i % 15] for i in range(20)]
    expected = _independent_perplexity(checkpoint, self.config, consumed)
    self.assertAlmostEqual(perplexity, expected, delta=expected * 1e-4)
    # The summary lands in the event file at the checkpoint's global step.
    self.assertEqual(_perplexities(eval_dir), {30: pytest.approx(perplexity)})

  def testEvaluatesEachCheckpointOnceInOrder(self):
    train_dir = os.path.join(self.root, "train_order")
    eval_dir = os.path.join(self.root, "eval_order")
    testing_utils.copy_train_dir(self.train_dir, train_dir)
    args = ["--input_file_pattern=" + self.paths["val_pattern"],
            "--checkpoint_dir=" + train_dir, "--eval_dir=" + eval_dir,
            "--num_eval_examples=8", "--min_global_step=1", "--run_once"]
    first = testing_utils.run_module("im2txt.evaluate", args)
    self.assertIn("Perplexity = ", first.stderr)
    # The first run evaluates every checkpoint above min_global_step.
    steps_first = sorted(_perplexities(eval_dir))
    self.assertIn(30, steps_first)
    # Two more checkpoints appear before the evaluator looks again: both
    # are evaluated, and the old ones are not evaluated again.
    testing_utils.train_tiny_model(self.paths, train_dir, self.config_file, 33)
    testing_utils.train_tiny_model(self.paths, train_dir, self.config_file, 36)
    second = testing_utils.run_module("im2txt.evaluate", args)
    # Every checkpoint now present (the Supervisor may also have saved one
    # at the start of a run) that the first pass did not see.
    present = set(
        int(tf.train.load_checkpoint(p).get_tensor("global_step")) for p in
        tf.train.get_checkpoint_state(train_dir).all_model_checkpoint_paths)
    new_steps = sorted(s for s in present - set(steps_first)
                       if s >= 1)  # --min_global_step=1
    # Both runs wrote checkpoints (their final ones at least; a stored step
    # can pass the target, and on a slow machine the Supervisor's first
    # save comes a step or two late): a resumed trainer keeps the earlier
    # runs' checkpoints in the `checkpoint` index (its newest 5), which the
    # evaluator follows. Every listed one is evaluated, oldest first.
    self.assertGreaterEqual(len(new_steps), 2, new_steps)
    self.assertGreaterEqual(new_steps[-1], 36)
    positions = [second.stderr.index("global step = %d." % s)
                 for s in new_steps]
    self.assertEqual(positions, sorted(positions))  # Oldest first.
    for step in steps_first:
      self.assertNotIn("global step = %d." % step, second.stderr)
    self.assertEqual(sorted(_perplexities(eval_dir)),
                     sorted(steps_first + new_steps))
    with open(os.path.join(eval_dir, "evaluated_steps.json")) as f:
      self.assertEqual(json.load(f), sorted(steps_first + new_steps))
    # Nothing new: nothing evaluated, and --run_once says so (exit 1).
    third = testing_utils.run_module("im2txt.evaluate", args, check=False)
    self.assertNotIn("Perplexity = ", third.stderr)
    self.assertEqual(third.returncode, 1)
    self.assertIn("evaluate: error: --run_once evaluated no checkpoint of "
                  "%s: " % train_dir, third.stderr)
    self.assertIn("every other one was evaluated before (steps in %s)"
                  % os.path.join(eval_dir, "evaluated_steps.json"),
                  third.stderr)

  def testMinGlobalStepSkipsButDoesNotRecord(self):
    eval_dir = os.path.join(self.root, "eval_min")
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=" + self.train_dir, "--eval_dir=" + eval_dir,
        "--num_eval_examples=4", "--run_once", "--eval_on_cpu"], check=False)
    self.assertIn("Skipping evaluation. Global step = 30 < 5000", result.stderr)
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr, r"--run_once evaluated no checkpoint "
                     r"of .*: \d below --min_global_step=5000 "
                     r"\(steps (0, )?30\)\.")
    self.assertFalse(os.path.exists(os.path.join(eval_dir,
                                                 "evaluated_steps.json")))

  def testCaptionMetricsBesidePerplexity(self):
    eval_dir = os.path.join(self.root, "eval_captions")
    args = ["--input_file_pattern=" + self.paths["val_pattern"],
            "--checkpoint_dir=" + self.train_dir, "--eval_dir=" + eval_dir,
            "--num_eval_examples=8", "--min_global_step=1", "--run_once",
            "--num_caption_eval_images=4", "--caption_eval_beam_size=2"]
    result = testing_utils.run_module("im2txt.evaluate", args, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("--num_caption_eval_images needs --vocab_file",
                  result.stderr)
    testing_utils.run_module(
        "im2txt.evaluate", args + ["--vocab_file=" + self.paths["vocab_file"]])

    # Every checkpoint evaluated gets caption metrics at its step. (slim's
    # Supervisor may have rewritten model.ckpt-0 at step 1, so there can be
    # a checkpoint besides step 30.)
    steps = sorted(_perplexities(eval_dir))
    step = steps[-1]
    acc = event_accumulator.EventAccumulator(
        eval_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    for name in caption_metrics.METRICS:
      self.assertIn("caption_metrics/" + name, tags)
    history = testing_utils.read_json(
        os.path.join(eval_dir, "caption_metrics.json"))
    self.assertEqual(sorted(int(k) for k in history), steps)
    for name in caption_metrics.METRICS:
      events = acc.Scalars("caption_metrics/" + name)
      self.assertEqual([e.step for e in events], steps)
      for event in events:
        self.assertAlmostEqual(event.value, history[str(event.step)][name],
                               places=5)

    # The captions are the first 4 distinct val images' beam-search captions,
    # and the summaries are their scores against the val references.
    captions = caption_metrics.load_results(
        os.path.join(eval_dir, "captions-%d.json" % step))
    first_ids = []
    for path in inputs.match_input_files(self.paths["val_pattern"]):
      for serialized in tf.io.tf_record_iterator(path):
        image_id = schema.parse_sequence_example_proto(serialized)["image_id"]
        if image_id not in first_ids:
          first_ids.append(image_id)
    self.assertEqual(sorted(captions), sorted(first_ids[:4]))
    references = caption_metrics.references_from_records(
        self.paths["val_pattern"])
    scores = caption_metrics.score(captions, references)
    for name in caption_metrics.METRICS:
      self.assertAlmostEqual(scores[name], history[str(step)][name], places=6)
    results_file = os.path.join(self.root, "ci_results.json")
    testing_utils.run_module("im2txt.caption_images", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--max_images=4", "--beam_size=2", "--output_file=" + results_file])
    self.assertEqual(caption_metrics.load_results(results_file), captions)

  def testRelativeCheckpointDirIsTheSameAsAbsolute(self):
    testing_utils.copy_train_dir(self.train_dir,
                                 os.path.join(self.root, "rel_train"))
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=rel_train", "--eval_dir=rel_eval",
        "--num_eval_examples=4", "--min_global_step=1", "--run_once"],
                                      cwd=self.root)
    self.assertIn("Perplexity = ", result.stderr)
    self.assertIn(30, testing_utils.read_json(os.path.join(
        self.root, "rel_eval", "evaluated_steps.json")))

  def testCorruptCheckpointIsRecordedAndTheOthersEvaluated(self):
    train_dir = os.path.join(self.root, "train_corrupt")
    eval_dir = os.path.join(self.root, "eval_corrupt")
    testing_utils.copy_train_dir(self.train_dir, train_dir)
    testing_utils.train_tiny_model(self.paths, train_dir, self.config_file, 33)
    listed = tf.train.get_checkpoint_state(
        train_dir).all_model_checkpoint_paths
    self.assertGreaterEqual(len(listed), 2)
    bad = listed[0]
    with open(bad + ".data-00000-of-00001", "r+b") as f:
      f.truncate(100)
    args = ["--input_file_pattern=" + self.paths["val_pattern"],
            "--checkpoint_dir=" + train_dir, "--eval_dir=" + eval_dir,
            "--num_eval_examples=4", "--min_global_step=0", "--run_once"]
    result = testing_utils.run_module("im2txt.evaluate", args)
    self.assertIn("Checkpoint %s cannot be evaluated" % bad, result.stderr)
    failed = testing_utils.read_json(os.path.join(eval_dir,
                                                  evaluate.FAILED_FILENAME))
    self.assertEqual(list(failed), [bad])
    good_steps = set(int(tf.train.load_checkpoint(p).get_tensor(
        "global_step")) for p in listed[1:])
    self.assertEqual(set(_perplexities(eval_dir)), good_steps)
    # A restart neither dies on it nor tries it again; having nothing left
    # to evaluate, --run_once says so.
    again = testing_utils.run_module("im2txt.evaluate", args, check=False)
    self.assertNotIn("cannot be evaluated", again.stderr)
    self.assertNotIn("Perplexity = ", again.stderr)
    self.assertEqual(again.returncode, 1)
    self.assertIn("1 recorded as unreadable in %s" % os.path.join(
        eval_dir, evaluate.FAILED_FILENAME), again.stderr)

  def testEvaluatorBesideATrainerThatRotatesItsCheckpoints(self):
    train_dir = os.path.join(self.root, "train_rotating")
    eval_dir = os.path.join(self.root, "eval_rotating")
    testing_utils.copy_train_dir(self.train_dir, train_dir)
    training_config = os.path.join(self.root, "keep_two.json")
    with open(training_config, "w") as f:
      json.dump({"max_checkpoints_to_keep": 2}, f)
    train_cmd, env = testing_utils.module_command("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + self.config_file,
        "--training_config_file=" + training_config,
        "--number_of_steps=100000", "--save_interval_secs=1",
        "--log_every_n_steps=1000"])
    eval_cmd, _ = testing_utils.module_command("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=" + train_dir, "--eval_dir=" + eval_dir,
        "--num_eval_examples=120", "--min_global_step=0",
        "--eval_interval_secs=1"])
    trainer = subprocess.Popen(train_cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    log = os.path.join(self.root, "evaluator.log")
    with open(log, "w") as out:
      evaluator = subprocess.Popen(eval_cmd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
      try:
        # Stops as soon as 4 are evaluated; the bound is for a loaded
        # machine, where most checkpoints vanish before their turn.
        deadline = time.time() + 300
        while time.time() < deadline and evaluator.poll() is None:
          time.sleep(1)
          if (os.path.exists(os.path.join(eval_dir, "evaluated_steps.json"))
              and len(_perplexities(eval_dir)) >= 4):
            break
        alive = evaluator.poll() is None
      finally:
        for proc in (evaluator, trainer):
          proc.kill()
          proc.wait()
    with open(log) as f:
      output = f.read()
    self.assertTrue(alive, "the evaluator died:\n" + output[-3000:])
    # Checkpoints rotated out under it were skipped, not fatal.
    self.assertIn("vanished before it was evaluated", output)
    self.assertNotIn("Traceback", output)
    self.assertGreaterEqual(len(_perplexities(eval_dir)), 3, output[-3000:])

  def testCorruptValidationRecordIsNamed(self):
    data = os.path.join(self.root, "corrupt_val")
    os.makedirs(data)
    bad = os.path.join(data, "val-00000-of-00001")
    testing_utils.corrupt_copy(glob.glob(self.paths["val_pattern"])[0], bad)
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + bad, "--checkpoint_dir=" + self.train_dir,
        "--eval_dir=" + os.path.join(self.root, "eval_corrupt_val"),
        "--num_eval_examples=400", "--min_global_step=1", "--run_once"],
                                      check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertRegex(result.stderr, r"evaluate: error: %s \(record \d+, "
                     r"byte offset \d+\): not a TFRecord file, or corrupted"
                     % re.escape(bad))

  def testNoCheckpointAndNoFiles(self):
    empty = os.path.join(self.root, "empty_train")
    os.makedirs(empty, exist_ok=True)
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=" + self.paths["val_pattern"],
        "--checkpoint_dir=" + empty, "--model_config_file=" + self.config_file,
        "--eval_dir=" + os.path.join(self.root, "e"), "--run_once"],
                                      check=False)
    self.assertIn("Skipping evaluation. No checkpoint found in: " + empty,
                  result.stderr)
    self.assertEqual(result.returncode, 1)
    self.assertIn("--run_once evaluated no checkpoint of %s: it holds no "
                  "checkpoint index." % empty, result.stderr)
    result = testing_utils.run_module("im2txt.evaluate", [
        "--input_file_pattern=/nope/val-*", "--checkpoint_dir=" + empty,
        "--eval_dir=" + os.path.join(self.root, "e")], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Found no input files matching /nope/val-*", result.stderr)


if __name__ == "__main__":
  unittest.main()
