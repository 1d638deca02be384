"""Fine-tuning with a grown vocabulary: build_mscoco_data --base_vocab_file
and train --extend_checkpoint."""

import json
import os
import re
import sys

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.inference_utils import caption_generator
from im2txt.data import mscoco_builder
from im2txt.training import vocabulary_extension
from tests import testing_utils

# Captions of set B: words set A (the demo's shapes) never had.
NEW_CAPTIONS = ("a purple hexagon beside a golden star",
                "two purple hexagons on a golden field")


class RemapTest(tf.test.TestCase):

  def testOldRowsStayAndTheUnknownWordMoves(self):
    old = np.arange(6 * 2).reshape(6, 2)      # 4 words, <UNK> = 4, 1 spare
    initial = -np.ones((9, 2), dtype=np.int64)  # 6 words, <UNK> = 6
    new = vocabulary_extension.remap_rows(old, initial, 0, 4, 6)
    np.testing.assert_array_equal(new[:4], old[:4])
    np.testing.assert_array_equal(new[6], old[4])
    np.testing.assert_array_equal(new[[4, 5, 7, 8]], -np.ones((4, 2)))
    # Along axis 1 (the logits' weights).
    new = vocabulary_extension.remap_rows(old.T, initial.T, 1, 4, 6)
    np.testing.assert_array_equal(new[:, :4], old.T[:, :4])
    np.testing.assert_array_equal(new[:, 6], old.T[:, 4])


@pytest.mark.slow
class ExtendCheckpointTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # Set B: some of A's images with captions of new words, built on A's
    # vocabulary.
    image_dir = cls.paths["val_image_dir"]
    names = sorted(os.listdir(image_dir))[:8]
    cls.captions_file = os.path.join(cls.root, "b.jsonl")
    with open(cls.captions_file, "w", encoding="utf-8") as f:
      for i, name in enumerate(names):
        f.write(json.dumps({"image": name, "split": "train",
                            "caption": NEW_CAPTIONS[i % 2]}) + "\n")
    cls.b_dir = os.path.join(cls.root, "b")
    mscoco_builder.build(
        "", "", "", "", cls.b_dir, os.path.join(cls.b_dir, "word_counts.txt"),
        train_shards=1, val_shards=1, test_shards=1, num_threads=1,
        min_word_count=1, input_format="jsonl",
        captions_file=cls.captions_file, image_dir=image_dir,
        base_vocab_file=cls.paths["vocab_file"])
    cls.b_pattern = os.path.join(cls.b_dir, "train-00000-of-00001")
    cls.b_vocab = os.path.join(cls.b_dir, "word_counts.txt")
    # A larger vocab_size than A's model: the word rows grow.
    cls.b_config = testing_utils.write_config(
        testing_utils.tiny_model_config(vocab_size=72),
        os.path.join(cls.root, "b_model.json"))
    cls.test_items = list(captioner.images_from_records(
        cls.paths["test_pattern"]))

  def _captions(self, checkpoint, vocab_file):
    """{image_id: best caption} of set A's test images, as run_inference
    captions them (its loader, search and defaults), in this process."""
    loaded = captioner.load_model(checkpoint, vocab_file)
    generator = caption_generator.CaptionGenerator(loaded.model, loaded.vocab)
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      results, _, failures = captioner.caption_all(
          sess, generator, loaded.vocab, self.test_items)
    self.assertEqual(failures, [])
    self.assertEqual(len(results), len(self.test_items))
    return {r["image_id"]: r["caption"] for r in results}

  def _new_word_log_probs(self, checkpoint, new_words):
    """Log-probabilities of every new word of B's captions, each given its
    image and the words before it, under the checkpoint."""
    loaded = captioner.load_model(checkpoint, self.b_vocab)
    vocab = loaded.vocab
    log_probs = []
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      for _, encoded, _ in captioner.images_from_records(self.b_pattern):
        initial = loaded.model.feed_image(sess, encoded)
        for caption in NEW_CAPTIONS:
          words = caption.split()
          ids = [vocab.start_id] + [vocab.word_to_id(w) for w in words]
          state = initial
          for i, word in enumerate(words):
            softmax, state, _ = loaded.model.inference_step(
                sess, np.array([ids[i]]), state)
            if word in new_words:
              log_probs.append(np.log(softmax[0, ids[i + 1]]))
    return log_probs

  def _train(self, train_dir, steps, *extra, check=True):
    return testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.b_pattern, "--train_dir=" + train_dir,
        "--model_config_file=" + self.b_config,
        "--number_of_steps=%d" % steps, "--log_every_n_steps=1"] +
                                    list(extra), check=check)

  def testExtendedModelCaptionsAsBeforeThenLearnsTheNewWords(self):
    with open(self.paths["vocab_file"], encoding="utf-8") as f:
      old_lines = f.read().split("\n")
    with open(self.b_vocab, encoding="utf-8") as f:
      new_lines = f.read().split("\n")
    self.assertEqual(new_lines[:len(old_lines)], old_lines)
    self.assertGreater(len(new_lines), len(old_lines))

    train_dir = os.path.join(self.root, "extended")
    result = self._train(train_dir, 0,
                         "--extend_checkpoint=" + self.train_dir)
    self.assertIn("Extending %s" % os.path.join(
        self.train_dir, "model.ckpt-%d" % self.TRAIN_STEPS), result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir), [0])
    extended = os.path.join(train_dir, "model.ckpt-0")
    # The old words' rows are the old model's at their ids; the old
    # unknown word's row is at the new unknown id.
    old = tf.train.load_checkpoint(tf.train.latest_checkpoint(self.train_dir))
    new = tf.train.load_checkpoint(extended)
    num_old, num_new = len(old_lines), len(new_lines)
    for name, axis in vocabulary_extension.WORD_ROWS.items():
      before = np.moveaxis(old.get_tensor(name), axis, 0)
      after = np.moveaxis(new.get_tensor(name), axis, 0)
      self.assertEqual(after.shape[0], 72)
      np.testing.assert_array_equal(after[:num_old], before[:num_old])
      np.testing.assert_array_equal(after[num_new], before[num_old])
    np.testing.assert_array_equal(
        new.get_tensor("lstm/basic_lstm_cell/kernel"),
        old.get_tensor("lstm/basic_lstm_cell/kernel"))
    self.assertEqual(new.get_tensor("global_step"), 0)
    with open(os.path.join(train_dir, "model_config.json")) as f:
      self.assertEqual(json.load(f)["vocab_size"], 72)

    # Before any fine-tuning step, set A's test images get the captions
    # they had.
    before = self._captions(self.train_dir, self.paths["vocab_file"])
    self.assertEqual(self._captions(extended, self.b_vocab), before)

    # Fine-tuning on B runs from there (the same command, further).
    result = self._train(train_dir, 30,
                         "--extend_checkpoint=" + self.train_dir)
    self.assertIn("--extend_checkpoint is not used", result.stderr)
    by_step = dict(re.findall(r"global step (\d+): loss = ([\d.]+)",
                              result.stderr))
    self.assertEqual(sorted(int(s) for s in by_step), list(range(1, 31)))
    losses = [float(by_step[str(s)]) for s in range(1, 31)]
    self.assertLess(np.mean(losses[-5:]), np.mean(losses[:5]))
    # The new words' rows learned: given B's images and the caption so far,
    # the next new word is far likelier than at step 0 (where its row was
    # fresh). The best caption alone need not show a new word after only
    # 30 steps: thread scheduling changes which degenerate caption wins.
    new_words = set(" ".join(NEW_CAPTIONS).split()) - set(
        line.split()[0] for line in old_lines)
    self.assertTrue(new_words)
    start = self._new_word_log_probs(extended, new_words)
    tuned = self._new_word_log_probs(
        os.path.join(train_dir, "model.ckpt-30"), new_words)
    # At step 0 a new word is about as likely as any of the 72 ids.
    self.assertLess(np.mean(start), np.log(4.0 / 72))
    self.assertGreater(np.mean(tuned), np.mean(start) + np.log(4.0))

  def testVocabularyThatMovesAnOldWordIsRefused(self):
    # B built without the base vocabulary: its own order of A's words.
    c_dir = os.path.join(self.root, "c")
    mscoco_builder.build(
        "", "", "", "", c_dir, os.path.join(c_dir, "word_counts.txt"),
        train_shards=1, val_shards=1, test_shards=1, num_threads=1,
        min_word_count=1, input_format="jsonl",
        captions_file=self.captions_file,
        image_dir=self.paths["val_image_dir"])
    with open(self.paths["vocab_file"], encoding="utf-8") as f:
      old_words = [line.split()[0] for line in f]
    with open(os.path.join(c_dir, "word_counts.txt"), encoding="utf-8") as f:
      new_words = [line.split()[0] for line in f]
    first = next(i for i, w in enumerate(old_words)
                 if i >= len(new_words) or new_words[i] != w)
    train_dir = os.path.join(self.root, "refused")
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + os.path.join(c_dir, "train-00000-of-00001"),
        "--train_dir=" + train_dir, "--model_config_file=" + self.b_config,
        "--number_of_steps=1",
        "--extend_checkpoint=" + self.train_dir,
        "--extend_vocab_file=" + self.paths["vocab_file"]], check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-3000:])
    self.assertNotIn("Traceback", result.stderr)
    self.assertIn("the word %r (id %d in the old vocabulary)"
                  % (old_words[first], first), result.stderr)
    self.assertEqual(testing_utils.checkpoint_steps(train_dir), [])
    # Records built on the base vocabulary need no --extend_vocab_file;
    # records without one do.
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + os.path.join(c_dir, "train-00000-of-00001"),
        "--train_dir=" + train_dir, "--model_config_file=" + self.b_config,
        "--number_of_steps=1",
        "--extend_checkpoint=" + self.train_dir], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("the records were not built with --base_vocab_file; pass "
                  "--extend_vocab_file", result.stderr)


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
