"""End-to-end training: two phases, resume, SIGKILL, summaries, bad input.

Runs the real `im2txt.train` binary in subprocesses on records written by
the real builder, with a tiny model configuration.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.common import dir_lock
from im2txt.training import self_critical
from im2txt import train
from im2txt.ops import image_embedding
from im2txt.ops import scheduled_sampling
from tests import testing_utils

pytestmark = pytest.mark.slow


_scalars = testing_utils.scalars


class TrainTest(testing_utils.TinyDataTestCase):

  def _train(self, train_dir, steps, *extra, check=True):
    return testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir,
        "--model_config_file=" + self.config_file,
        "--number_of_steps=%d" % steps,
        "--save_summaries_secs=1",
        "--save_interval_secs=600",
    ] + list(extra), check=check)

  def _train_wider_lstm(self, train_dir, steps):
    """train with the tiny config but 24 LSTM units (other shapes)."""
    other = testing_utils.write_config(
        testing_utils.tiny_model_config(num_lstm_units=24),
        os.path.join(self.root, "lstm24.json"))
    return testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + other,
        "--number_of_steps=%d" % steps], check=False)

  def testTwoPhasesResumeAndSummaries(self):
    train_dir = os.path.join(self.root, "two_phases")
    result = self._train(train_dir, 6)
    self.assertIn("No Inception v3 checkpoint file is set", result.stderr)
    self.assertIn("Measuring the random encoder's batch-norm statistics",
                  result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[0], 0)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 6)
    # (The Supervisor may rewrite model.ckpt-0 as it starts, from the same
    # restored values.) Measured statistics, not the initial zeros and ones.
    initial = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-0"))
    moving_variance = initial.get_tensor(
        "InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/BatchNorm/moving_variance")
    self.assertFalse((moving_variance == 1.0).all())
    self.assertTrue(os.path.exists(os.path.join(train_dir,
                                                "model_config.json")))
    self.assertTrue(os.path.exists(os.path.join(train_dir,
                                                "training_config.json")))

    # Same command, higher target: resumes at 6 (the absolute target). With
    # the original's summary thread, as an option, summaries are written
    # from its own pass.
    result = self._train(train_dir, 10, "--nosummaries_in_train_step")
    self.assertIn("at global step 6", result.stderr)
    self.assertRegex(result.stderr, r"global step 7: loss = \d+\.\d{4}")
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 10)
    thread_summaries = testing_utils.file_scalars(
        testing_utils.newest_events_file(train_dir), "OptimizeLoss/loss")
    self.assertTrue(thread_summaries)
    logged = testing_utils.logged_losses(result.stderr)
    for step, value in thread_summaries:  # another batch's loss
      if step in logged:
        self.assertGreater(abs(value - logged[step]), 6e-5, step)

    # A target already reached does nothing (the original ran one step).
    result = self._train(train_dir, 8)
    self.assertIn("Nothing to do: global step 10", result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 10)

    # Phase 2 fine-tunes Inception at the constant fine-tuning rate.
    result = self._train(train_dir, 40, "--train_inception=true")
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 40)
    reader = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-40"))
    self.assertEqual(reader.get_tensor("global_step"), 40)

    # The summaries are those of the training steps (their loss is the loss
    # the step logged), not of a separate pass on another batch.
    logged = testing_utils.logged_losses(result.stderr)
    summarized = [(step, value) for step, value in
                  _scalars(train_dir, "OptimizeLoss/loss") if step > 10]
    self.assertGreaterEqual(len(summarized), 2, summarized)
    for step, value in summarized:
      self.assertIn(step, logged)
      self.assertAlmostEqual(value, logged[step], delta=6e-5, msg=step)
    self.assertEqual(summarized[0][0], min(logged))  # the run's first step

    learning_rates = _scalars(train_dir, "OptimizeLoss/learning_rate")
    self.assertTrue(learning_rates, "no learning-rate summary written")
    for step, value in learning_rates:
      expected = 0.0005 if step >= 10 else 2.0
      self.assertAlmostEqual(value, expected, places=6, msg=step)
    self.assertTrue(_scalars(train_dir, "losses/total_loss"))
    self.assertTrue(
        _scalars(train_dir, "OptimizeLoss/global_norm/gradient_norm"))

    # Recomputing the encoder's activations: phase 2 only; same checkpoint.
    result = self._train(train_dir, 44, "--recompute_encoder", check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("add --train_inception or drop --recompute_encoder",
                  result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 40)
    result = self._train(train_dir, 44, "--train_inception",
                         "--recompute_encoder")
    self.assertRegex(result.stderr, r"Recomputing the encoder's activations "
                     r"in the backward pass \(the whole encoder; \d+ ops "
                     r"marked\)")
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 44)
    self.assertEqual(sorted(tf.train.list_variables(os.path.join(
        train_dir, "model.ckpt-44"))), sorted(tf.train.list_variables(
            os.path.join(train_dir, "model.ckpt-40"))))
    # Each resumed run's Saver took over the earlier runs' checkpoints: the
    # index still lists every run's last one (max_to_keep 5), oldest first.
    listed = [int(p.rsplit("-", 1)[1]) for p in tf.train.get_checkpoint_state(
        train_dir).all_model_checkpoint_paths]
    self.assertEqual(listed, sorted(listed))
    self.assertLessEqual({6, 10, 40, 44}, set(listed))

  def testScheduledSampling(self):
    train_dir = os.path.join(self.root, "scheduled_sampling")
    config = configuration.TrainingConfig()
    config.scheduled_sampling_decay = "linear"
    config.scheduled_sampling_linear_slope = 0.05
    config.scheduled_sampling_min_truth_probability = 0.0
    config_file = os.path.join(self.root, "ss_training.json")
    with open(config_file, "w") as f:
      f.write(config.to_json_string())
    result = self._train(train_dir, 12, "--scheduled_sampling",
                         "--training_config_file=" + config_file)
    self.assertRegex(result.stderr, r"global step 12: loss = \d+\.\d{4}")
    values = _scalars(train_dir, "scheduled_sampling/truth_probability")
    self.assertTrue(values, "no scheduled-sampling summary written")
    for step, value in values:
      # The summary is computed in the training step: its probability is
      # that of the global step the step read, before or after its own
      # increment (the step is read in the same run).
      near = [scheduled_sampling.schedule_value(config, s)
              for s in (step - 1, step)]
      self.assertTrue(any(abs(value - p) < 1e-5 for p in near),
                      (step, value, near))
    self.assertLess(min(v for _, v in values), 1.0)
    # A schedule that cannot be used is refused before anything is written.
    config.scheduled_sampling_decay = "cosine"
    with open(config_file, "w") as f:
      f.write(config.to_json_string())
    bad_dir = os.path.join(self.root, "ss_bad")
    result = self._train(bad_dir, 2, "--scheduled_sampling",
                         "--training_config_file=" + config_file, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("train: error: scheduled_sampling_decay must be one of",
                  result.stderr)
    self.assertFalse(os.path.exists(os.path.join(bad_dir, "model.ckpt-0"
                                                 ".index")))

  def testSelfCriticalFromImagesAndFeatures(self):
    refused_dir = os.path.join(self.root, "self_critical_refused")
    vocab = "--vocab_file=" + self.paths["vocab_file"]
    records_only = os.path.join(self.root, "self_critical_records_only")
    shutil.copytree(self.paths["data_dir"], records_only,
                    ignore=shutil.ignore_patterns("word_counts.txt"))
    # Refusals before anything is written.
    for extra, message in (
        (["--input_file_pattern=" + os.path.join(records_only, "train-*")],
         "--self_critical needs the vocabulary of the records (ids -> words "
         "for the rewards): there is no word_counts.txt beside the records "
         "matching %s; pass --vocab_file." % os.path.join(records_only,
                                                          "train-*")),
        ([vocab, "--train_inception"], "frozen"),
        ([vocab, "--scheduled_sampling"], "drop --train_inception and "
         "--scheduled_sampling")):
      result = self._train(refused_dir, 2, "--self_critical", *extra,
                           check=False)
      self.assertEqual(result.returncode, 1)
      self.assertIn("train: error: ", result.stderr)
      self.assertIn(message, result.stderr)
      self.assertFalse(os.path.exists(os.path.join(refused_dir,
                                                   "model_config.json")))
    # Phase 1 (a copy of the shared model, at step 40), then the third
    # phase on images.
    phase1 = testing_utils.SHARED_TRAIN_STEPS
    train_dir = testing_utils.copy_train_dir(
        testing_utils.shared_train_dir(),
        os.path.join(self.root, "self_critical"))
    # No --vocab_file: the builder's word_counts.txt beside the records.
    result = self._train(train_dir, phase1 + 6, "--self_critical")
    self.assertIn("Self-critical rewards: words of %s"
                  % self.paths["vocab_file"], result.stderr)
    self.assertNotIn("never been trained", result.stderr)
    self.assertRegex(result.stderr, r"global step %d: loss = -?\d+\.\d{4}"
                     % (phase1 + 6))
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], phase1 + 6)
    self.assertTrue(os.path.exists(os.path.join(
        train_dir, self_critical.REFERENCES_FILENAME)))
    for tag in (self_critical.SAMPLE_CIDER_TAG,
                self_critical.GREEDY_CIDER_TAG,
                self_critical.ADVANTAGE_TAG):
      values = [v for step, v in _scalars(train_dir, tag) if step >= phase1]
      self.assertTrue(values, "no %s summary" % tag)
      self.assertTrue(all(abs(v) < 10 for v in values), (tag, values))
    rates = [v for step, v in _scalars(train_dir,
                                       "OptimizeLoss/learning_rate")
             if step > phase1]
    self.assertTrue(rates)
    want = configuration.TrainingConfig().self_critical_learning_rate
    self.assertTrue(all(abs(v - want) < 1e-6 for v in rates), rates)
    # From the feature cache (the shared one: the same encoder, frozen
    # since step 0): references from the records.
    pattern = os.path.join(testing_utils.shared_features(),
                           "features-train-*-of-00002")
    common = ["--train_dir=" + train_dir,
              "--model_config_file=" + self.config_file,
              "--save_summaries_secs=600", "--self_critical", vocab,
              "--features_file_pattern=" + pattern]
    result = testing_utils.run_module(
        "im2txt.train", common + ["--number_of_steps=%d" % (phase1 + 10)],
        check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("needs --self_critical_references", result.stderr)
    testing_utils.run_module("im2txt.train", common + [
        "--number_of_steps=%d" % (phase1 + 10),
        "--self_critical_references=" + self.paths["train_pattern"]])
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], phase1 + 10)
    # From a decoder that was never trained: a warning, and it still runs.
    fresh = os.path.join(self.root, "self_critical_untrained")
    result = self._train(fresh, 2, "--self_critical", vocab)
    self.assertIn("never been trained", result.stderr)
    self.assertIn("rewards are meaningless", result.stderr)

  def testSigkillAtAnyMomentResumes(self):
    train_dir = os.path.join(self.root, "killed")
    env = dict(os.environ, PYTHONPATH=testing_utils.REPO_ROOT,
               TF_CPP_MIN_LOG_LEVEL="2")
    args = [
        sys.executable, "-m", "im2txt.train",
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + self.config_file,
        "--number_of_steps=1000000", "--save_interval_secs=1",
        "--save_summaries_secs=1"
    ]
    for delay in (0.3, 1.7, 3.1):
      proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              cwd=testing_utils.REPO_ROOT)
      # Let it train and write checkpoints, then kill it mid-flight.
      deadline = time.time() + 120
      while (time.time() < deadline and
             len(testing_utils.checkpoint_steps(train_dir)) < 2):
        time.sleep(0.2)
      time.sleep(delay)
      proc.send_signal(signal.SIGKILL)
      proc.wait()
      # It had written checkpoints (else the loop below checks nothing).
      steps = testing_utils.checkpoint_steps(train_dir)
      self.assertGreaterEqual(len(steps), 2, "no checkpoints before the kill "
                              "after %.1f s" % delay)
      # Every checkpoint under its final name is complete and restorable.
      # (The Supervisor saves from its own thread, so the step in the name
      # can trail the stored step that training had reached.)
      for step in steps:
        reader = tf.train.load_checkpoint(
            os.path.join(train_dir, "model.ckpt-%d" % step))
        self.assertGreaterEqual(reader.get_tensor("global_step"), step)
    latest = tf.train.latest_checkpoint(train_dir)
    self.assertIsNotNone(latest)
    last_step = int(tf.train.load_checkpoint(latest).get_tensor("global_step"))
    self.assertGreater(last_step, 0)
    result = self._train(train_dir, last_step + 3)
    self.assertIn("at global step %d" % last_step, result.stderr)
    self.assertRegex(result.stderr, r"global step %d: loss" % (last_step + 1))
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1],
                     last_step + 3)

  def testInputPatternMatchingNothing(self):
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=/no/such/train-*", "--train_dir=" +
        os.path.join(self.root, "x")], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Found no input files matching /no/such/train-*",
                  result.stderr)

  def testBadConfigFilesAreClearErrors(self):
    bad = os.path.join(self.root, "bad_config.json")
    with open(bad, "w") as f:
      f.write("{not json")
    unknown = os.path.join(self.root, "unknown_field.json")
    with open(unknown, "w") as f:
      f.write('{"lstm_size": 3}')
    for flag, path, message in (
        ("--model_config_file", bad, "is not valid JSON"),
        ("--training_config_file", bad, "is not valid JSON"),
        ("--model_config_file", unknown, "Unknown ModelConfig fields: "
         "lstm_size"),
        ("--model_config_file", os.path.join(self.root, "missing.json"),
         "cannot read the configuration")):
      train_dir = os.path.join(self.root, "bad_config_train")
      result = testing_utils.run_module("im2txt.train", [
          "--input_file_pattern=" + self.paths["train_pattern"],
          "--train_dir=" + train_dir, flag + "=" + path], check=False)
      self.assertEqual(result.returncode, 1, result.stderr[-2000:])
      self.assertIn("train: error: " + path, result.stderr)
      self.assertIn(message, result.stderr)
      self.assertNotIn("Traceback", result.stderr)
      self.assertFalse(os.path.exists(train_dir))

  def testRequiredFlags(self):
    result = testing_utils.run_module("im2txt.train", [], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("Give exactly one of --input_file_pattern and "
                  "--features_file_pattern", result.stderr)

  def testVocabularyLargerThanModel(self):
    small = testing_utils.write_config(
        testing_utils.tiny_model_config(vocab_size=5),
        os.path.join(self.root, "small_vocab.json"))
    train_dir = os.path.join(self.root, "small_vocab")
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + small],
        check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn(self.paths["vocab_file"], result.stderr)
    self.assertIn("vocab_size is 5", result.stderr)
    self.assertFalse(testing_utils.checkpoint_steps(train_dir))

  def testVocabularyCheckedAgainstRecordsWithoutWordCounts(self):
    data_dir = os.path.join(self.root, "records_only")
    shutil.copytree(self.paths["data_dir"], data_dir,
                    ignore=shutil.ignore_patterns("word_counts.txt"))
    small = testing_utils.write_config(
        testing_utils.tiny_model_config(vocab_size=5),
        os.path.join(self.root, "small_vocab2.json"))
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + os.path.join(data_dir, "train-*"),
        "--train_dir=" + os.path.join(self.root, "records_only_train"),
        "--model_config_file=" + small], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr, r"train-0000\d-of-00002 \(record \d+\) has "
                     r"word id \d+, outside the model's vocab_size 5")

  def testSavedConfigWithOtherShapesRefusesToStart(self):
    train_dir = os.path.join(self.root, "config_mismatch")
    self._train(train_dir, 1)
    result = self._train_wider_lstm(train_dir, 5)
    self.assertEqual(result.returncode, 1)
    self.assertIn("num_lstm_units: saved 16, now 24", result.stderr)
    self.assertIn(os.path.join(train_dir, "model_config.json"), result.stderr)

  def testInceptionCheckpointMismatchNamesFile(self):
    ckpt = os.path.join(self.root, "bad_inception", "inception_v3.ckpt")
    with tf.Graph().as_default():
      # Half the encoder only: the other blocks are missing.
      tf.get_variable("InceptionV3/Conv2d_1a_3x3/weights", [3, 3, 3, 16])
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, ckpt)
    result = self._train(os.path.join(self.root, "bad_inception_train"), 2,
                         "--inception_checkpoint_file=" + ckpt, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Checkpoint %s does not match the model" % ckpt,
                  result.stderr)
    self.assertIn("InceptionV3/Conv2d_1a_3x3/weights: checkpoint [3, 3, 3, 16]",
                  result.stderr)
    self.assertIn("variables missing", result.stderr)
    # The failed start saved no configuration, so a run with another one
    # starts there (it used to be refused by the saved config).
    train_dir = os.path.join(self.root, "bad_inception_train")
    self.assertFalse(os.path.exists(os.path.join(train_dir,
                                                 "model_config.json")))
    result = self._train_wider_lstm(train_dir, 1)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(configuration.load_model_config(train_dir).num_lstm_units,
                     24)

  def testCheckpointWithoutItsConfigAndAnotherConfigIsRefusedFirst(self):
    # A copied checkpoint without model_config.json, trained with another
    # config: named variable and shapes, nothing written, before TensorFlow's
    # restore would fail; the right config then resumes.
    train_dir = testing_utils.copy_train_dir(
        testing_utils.shared_train_dir(), os.path.join(self.root, "copied"))
    os.remove(os.path.join(train_dir, "model_config.json"))
    before = sorted(os.listdir(train_dir))
    result = self._train_wider_lstm(train_dir, 41)
    self.assertEqual(result.returncode, 1)
    self.assertIn("lstm/basic_lstm_cell/kernel: checkpoint [32, 64], model "
                  "[40, 96]", result.stderr)
    self.assertIn("pass the one it was trained with (--model_config_file)",
                  result.stderr)
    self.assertNotIn("Traceback", result.stderr)
    self.assertEqual(sorted(os.listdir(train_dir)), before)
    self._train(train_dir, 41)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 41)
    self.assertEqual(configuration.load_model_config(train_dir).num_lstm_units,
                     16)

  def testSecondTrainerIsRefusedAndAStaleLockIsTakenOver(self):
    train_dir = os.path.join(self.root, "locked")
    with dir_lock.DirectoryLock(train_dir, train.LOCK_FILENAME):
      result = self._train(train_dir, 1, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s is in use by another run: pid %d" % (train_dir,
                                                           os.getpid()),
                  result.stderr)
    self.assertFalse(testing_utils.checkpoint_steps(train_dir))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(os.path.join(train_dir, train.LOCK_FILENAME), "w") as f:
      json.dump({"pid": dead.pid, "host": socket.gethostname()}, f)
    result = self._train(train_dir, 1)
    self.assertIn("Taking over the stale lock", result.stderr)
    self.assertFalse(os.path.exists(os.path.join(train_dir,
                                                 train.LOCK_FILENAME)))

  def testCorruptRecordBeyondThePreflightSampleIsNamed(self):
    data = os.path.join(self.root, "corrupt_data")
    os.makedirs(data)
    source = sorted(glob.glob(self.paths["train_pattern"]))[0]
    # Five copies: the pre-flight check samples the first four files.
    for i in range(5):
      shutil.copy(source, os.path.join(data, "train-%05d-of-00005" % i))
    bad = testing_utils.corrupt_copy(
        source, os.path.join(data, "train-00004-of-00005"))
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + os.path.join(data, "train-*"),
        "--train_dir=" + os.path.join(self.root, "corrupt_train"),
        "--model_config_file=" + self.config_file,
        "--number_of_steps=400"], check=False, timeout=600)
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertRegex(result.stderr, r"train: error: %s \(record \d+, byte "
                     r"offset \d+\): not a TFRecord file, or corrupted"
                     % re.escape(bad))
    self.assertIn("verify_records", result.stderr)

  def testInceptionCheckpointInitialisesStepZeroOnly(self):
    ckpt = os.path.join(self.root, "inception", "inception_v3.ckpt")
    with tf.Graph().as_default():
      image_embedding.inception_v3(tf.zeros([1, 75, 75, 3]), trainable=False,
                                   is_training=False)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, ckpt)
      expected = tf.train.load_checkpoint(ckpt).get_tensor(
          "InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/weights")
    train_dir = os.path.join(self.root, "with_inception")
    result = self._train(train_dir, 2, "--inception_checkpoint_file=" + ckpt)
    self.assertIn("Restoring Inception variables from checkpoint file " + ckpt,
                  result.stderr)
    got = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-2"))
    self.assertTrue((got.get_tensor(
        "InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/weights") == expected
                    ).all())
    os.remove(ckpt + ".index")  # Ignored once train_dir has a checkpoint.
    result = self._train(train_dir, 3, "--inception_checkpoint_file=" + ckpt)
    self.assertNotIn("Restoring Inception variables", result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir)[-1], 3)


if __name__ == "__main__":
  unittest.main()
