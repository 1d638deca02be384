"""Ensembles at inference: --checkpoint_path with several checkpoints."""

import os
import re

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.common import checkpoints
from im2txt import configuration
from im2txt.inference_utils import caption_generator
from tests import testing_utils

pytestmark = pytest.mark.slow

CAPTION_LINE = re.compile(r"^  (\d)\) (.*) \(p=(\d+\.\d{6})\)$")


def _untrained_checkpoint(config, train_dir):
  """A checkpoint of a freshly initialized inference graph of `config`,
  with its model_config.json beside it."""
  g, _, saver = captioner.build_inference_graph(config)
  with g.as_default(), tf.Session(graph=g) as sess:
    tf.set_random_seed(7)
    sess.run(tf.global_variables_initializer())
    path = saver.save(sess, os.path.join(train_dir, "model.ckpt-0"))
  configuration.save_configs(train_dir, config)
  return path


class EnsembleTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = 40

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.images = sorted(os.path.join(cls.paths["val_image_dir"], name)
                        for name in os.listdir(cls.paths["val_image_dir"]))[:3]
    cls.other = _untrained_checkpoint(cls.config,
                                      os.path.join(cls.root, "untrained"))

  def _run(self, checkpoint_path, *extra):
    return testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + checkpoint_path,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + ",".join(self.images)] + list(extra), check=False)

  def _parse(self, stdout):
    captions = []
    for line in stdout.splitlines():
      m = CAPTION_LINE.match(line)
      if m:
        captions.append((m.group(2), float(m.group(3))))
      else:
        self.assertRegex(line, r"^Captions for image .+:$")
    return captions

  def testEnsembleOfACheckpointWithItselfIsTheCheckpoint(self):
    single = self._run(self.train_dir)
    pair = self._run(self.train_dir + "," + self.train_dir)
    self.assertEqual(pair.returncode, 0, pair.stderr[-2000:])
    want, got = self._parse(single.stdout), self._parse(pair.stdout)
    self.assertEqual(len(want), 9)
    self.assertEqual([c for c, _ in got], [c for c, _ in want])
    np.testing.assert_allclose([p for _, p in got], [p for _, p in want],
                               atol=2e-6)
    batched = self._run(self.train_dir + "," + self.train_dir,
                        "--batch_size=3")
    self.assertEqual(batched.stdout, pair.stdout)

  def testEnsembleScoresAreTheMeanOfTheMembersLogProbabilities(self):
    with open(self.images[0], "rb") as f:
      image = f.read()
    members = [checkpoints.resolve(self.train_dir), self.other]
    steps = []
    for member in members:
      loaded = captioner.load_model(member, self.paths["vocab_file"])
      with tf.Session(graph=loaded.graph) as sess:
        loaded.restore_fn(sess)
        state = loaded.model.feed_image(sess, image)
        softmax, _, _ = loaded.model.inference_step(
            sess, np.array([loaded.vocab.start_id]), state)
      steps.append(softmax)
    loaded = captioner.load_model(",".join(members),
                                   self.paths["vocab_file"])
    self.assertEqual(loaded.checkpoint, ",".join(members))
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      state = loaded.model.feed_image(sess, image)
      self.assertEqual(state.shape, (1, 4 * self.config.num_lstm_units))
      softmax, new_state, _ = loaded.model.inference_step(
          sess, np.array([loaded.vocab.start_id]), state)
      self.assertEqual(new_state.shape, state.shape)
      np.testing.assert_allclose(
          np.log(softmax), (np.log(steps[0]) + np.log(steps[1])) / 2,
          rtol=1e-5, atol=1e-6)
      # Two different members give valid captions.
      generator = caption_generator.CaptionGenerator(loaded.model,
                                                     loaded.vocab)
      captions = generator.beam_search(sess, image)
    self.assertEqual(len(captions), 3)
    for caption in captions:
      self.assertEqual(caption.sentence[0], loaded.vocab.start_id)
      self.assertTrue(all(0 <= w < self.config.vocab_size
                          for w in caption.sentence))
      self.assertLess(caption.logprob, 0)
    result = self._run(",".join(members), "--batch_size=2")
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(len(self._parse(result.stdout)), 9)

  def testMembersOfAnotherVocabularyAreRefused(self):
    config = testing_utils.tiny_model_config(vocab_size=50)
    other = _untrained_checkpoint(config, os.path.join(self.root, "vocab50"))
    result = self._run(self.train_dir + "," + other)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Ensemble members must share the vocabulary", result.stderr)
    self.assertIn("%s has 50" % other, result.stderr)
    result = self._run(self.train_dir + ",")
    self.assertEqual(result.returncode, 1)
    self.assertIn("Empty entry in the comma-separated checkpoint list",
                  result.stderr)
