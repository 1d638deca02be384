"""run_inference end to end on a small trained checkpoint, and its bad input."""

import glob
import os
import re
import shutil
import unittest

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.inference_utils import caption_generator
from tests import testing_utils

pytestmark = pytest.mark.slow

CAPTION_LINE = re.compile(r"^  (\d)\) (.*) \(p=(\d+\.\d{6})\)$")


class RunInferenceTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = 40

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.images = sorted(glob.glob(os.path.join(cls.paths["val_image_dir"],
                                               "*.jpg")))[:3]

  def _run(self, checkpoint_path, input_files, vocab_file=None, *extra):  # pylint: disable=keyword-arg-before-vararg
    return testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + checkpoint_path,
        "--vocab_file=" + (vocab_file or self.paths["vocab_file"]),
        "--input_files=" + input_files] + list(extra), check=False)

  def _parse(self, stdout):
    """Returns {image name: [(index, words, p)]}, checking every line."""
    result, current = {}, None
    for line in stdout.splitlines():
      m = re.match(r"^Captions for image (.+):$", line)
      if m:
        current = result.setdefault(m.group(1), [])
        continue
      m = CAPTION_LINE.match(line)
      self.assertIsNotNone(m, "unexpected output line %r" % line)
      current.append((int(m.group(1)), m.group(2), float(m.group(3))))
    return result

  def testDirectoryAndFilePathGiveTheSameCaptions(self):
    pattern = ",".join(self.images)
    by_dir = self._run(self.train_dir, pattern)
    self.assertEqual(by_dir.returncode, 0, by_dir.stderr)
    captions = self._parse(by_dir.stdout)
    self.assertEqual(sorted(captions),
                     sorted(os.path.basename(p) for p in self.images))
    for lines in captions.values():
      self.assertEqual([i for i, _, _ in lines], [0, 1, 2])
      probabilities = [p for _, _, p in lines]
      self.assertEqual(probabilities, sorted(probabilities, reverse=True))
      for _, words, _ in lines:
        self.assertNotIn("<S>", words)
        self.assertNotIn("</S>", words)
    latest = tf.train.latest_checkpoint(self.train_dir)
    by_file = self._run(latest, pattern)
    self.assertEqual(by_file.returncode, 0, by_file.stderr)
    self.assertEqual(by_file.stdout, by_dir.stdout)
    self.assertIn("Running caption generation on 3 files", by_file.stderr)

  def testBeamFlags(self):
    result = self._run(self.train_dir, self.images[0], None, "--beam_size=1",
                       "--max_caption_length=4")
    self.assertEqual(result.returncode, 0, result.stderr)
    lines = self._parse(result.stdout)[os.path.basename(self.images[0])]
    self.assertEqual(len(lines), 1)
    self.assertLessEqual(len(lines[0][1].split()), 3)

  def testBadImageAmongGoodOnesIsReported(self):
    bad_dir = os.path.join(self.root, "bad_inputs")
    os.makedirs(bad_dir, exist_ok=True)
    not_image = os.path.join(bad_dir, "notes.jpg")
    with open(not_image, "w") as f:
      f.write("not an image")
    unreadable = os.path.join(bad_dir, "folder.jpg")
    os.makedirs(unreadable, exist_ok=True)
    inputs = ",".join([self.images[0], not_image, unreadable, self.images[1],
                       "/no/such/*.jpg"])
    result = self._run(self.train_dir, inputs)
    self.assertEqual(result.returncode, 1)
    self.assertEqual(sorted(self._parse(result.stdout)),
                     sorted(os.path.basename(p) for p in self.images[:2]))
    self.assertIn("%s: not a decodable JPEG image" % not_image, result.stderr)
    self.assertIn("%s: cannot read file" % unreadable, result.stderr)
    self.assertIn("/no/such/*.jpg: no file matches this pattern", result.stderr)
    self.assertIn("3 of 5 inputs failed", result.stderr)

  def testBatchedBeamSearchPrintsTheSameCaptions(self):
    bad_dir = os.path.join(self.root, "bad_batch")
    os.makedirs(bad_dir, exist_ok=True)
    not_image = os.path.join(bad_dir, "broken.jpg")
    with open(not_image, "w") as f:
      f.write("not an image")
    images = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                           "*.jpg")))[:7]
    inputs = ",".join(images[:3] + [not_image] + images[3:])
    one = self._run(self.train_dir, inputs)
    for batch_size in ("2", "4", "32"):
      batched = self._run(self.train_dir, inputs, None,
                          "--batch_size=" + batch_size)
      self.assertEqual(batched.returncode, 1)
      # Same images, order, captions and probabilities (to 6 digits).
      self.assertEqual(batched.stdout, one.stdout)
      self.assertIn("%s: not a decodable JPEG image" % not_image,
                    batched.stderr)
    self.assertEqual(len(self._parse(one.stdout)), 7)

  def testMissingCheckpoint(self):
    result = self._run(os.path.join(self.root, "nope", "model.ckpt-5"),
                       self.images[0])
    self.assertEqual(result.returncode, 1)
    self.assertIn("nope/model.ckpt-5 not found", result.stderr)
    index = tf.train.latest_checkpoint(self.train_dir) + ".index"
    result = self._run(index, self.images[0])
    self.assertEqual(result.returncode, 1)
    self.assertIn("Pass the prefix without '.index'", result.stderr)

  def testDirectoryWithoutCheckpointIndex(self):
    copy = os.path.join(self.root, "copied_checkpoint")
    os.makedirs(copy, exist_ok=True)
    latest = tf.train.latest_checkpoint(self.train_dir)
    for path in glob.glob(latest + ".*"):
      shutil.copy(path, copy)
    result = self._run(copy, self.images[0])
    self.assertEqual(result.returncode, 1)
    self.assertIn("No checkpoint file found in: %s (the directory has no file "
                  "named 'checkpoint'" % copy, result.stderr)
    # The checkpoint prefix itself works.
    prefix = os.path.join(copy, os.path.basename(latest))
    result = self._run(prefix, self.images[0], None,
                       "--model_config_file=" + self.config_file)
    self.assertEqual(result.returncode, 0, result.stderr)

  def testVocabularyLargerThanModel(self):
    big_vocab = os.path.join(self.root, "big_word_counts.txt")
    with open(big_vocab, "w") as f:
      f.write("\n".join(["<S> 9", "</S> 9"] + ["w%d 5" % i for i in range(80)]))
    result = self._run(self.train_dir, self.images[0], big_vocab)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Vocabulary %s has 83 words" % big_vocab, result.stderr)
    self.assertIn("vocab_size 60", result.stderr)

  def testVocabularyMuchSmallerThanTheModel(self):
    small_vocab = os.path.join(self.root, "small_word_counts.txt")
    with open(small_vocab, "w") as f:
      f.write("\n".join(["<S> 9", "</S> 9", "a 5", "b 4"]))
    result = self._run(self.train_dir, self.images[0], small_vocab)
    # Unusual, not wrong: captioned, with a warning naming both sizes.
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("Vocabulary %s has 5 words (with <UNK>), far fewer than "
                  "the model's vocab_size 60" % small_vocab, result.stderr)
    self.assertEqual(len(self._parse(result.stdout)), 1)

  def testCheckpointOfAnotherConfiguration(self):
    other = testing_utils.write_config(
        testing_utils.tiny_model_config(num_lstm_units=8),
        os.path.join(self.root, "other.json"))
    result = self._run(self.train_dir, self.images[0], None,
                       "--model_config_file=" + other)
    self.assertEqual(result.returncode, 1)
    self.assertIn("lstm/basic_lstm_cell/kernel: checkpoint [32, 64], model "
                  "[24, 32]", result.stderr)

  def testPartialCaptionKeepsItsLastWord(self):
    class FakeVocab(object):
      end_id = 1

      def id_to_word(self, i):
        return "w%d" % i

    complete = caption_generator.Caption([0, 5, 6, 1], None, -1.0, -1.0)
    partial = caption_generator.Caption([0, 5, 6], None, -1.0, -1.0)
    self.assertEqual(captioner.caption_words(complete, FakeVocab()),
                     ["w5", "w6"])
    self.assertEqual(captioner.caption_words(partial, FakeVocab()),
                     ["w5", "w6"])
    self.assertEqual(
        captioner.format_captions("x.jpg", [complete], FakeVocab()),
        ["Captions for image x.jpg:", "  0) w5 w6 (p=0.367879)"])


if __name__ == "__main__":
  unittest.main()
