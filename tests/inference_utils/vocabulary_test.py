"""Tests of the inference Vocabulary on word_counts.txt files."""

import os
import tempfile
import unittest

from im2txt.inference_utils import vocabulary


class VocabularyTest(unittest.TestCase):

  def _vocab(self, contents, **kwargs):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "word_counts.txt")
    with open(path, "w", encoding="utf-8") as f:
      f.write(contents)
    return vocabulary.Vocabulary(path, **kwargs), path

  def testBuilderFormatAndUnk(self):
    vocab, _ = self._vocab("a 969108\n<S> 586368\n</S> 586368\n. 440479")
    self.assertEqual(vocab.reverse_vocab, ["a", "<S>", "</S>", ".", "<UNK>"])
    self.assertEqual((vocab.start_id, vocab.end_id, vocab.unk_id), (1, 2, 4))
    self.assertEqual(len(vocab), 5)
    self.assertEqual(vocab.word_to_id("."), 3)
    self.assertEqual(vocab.word_to_id("surfboard"), 4)
    self.assertEqual(vocab.id_to_word(0), "a")
    # Ids of a wider softmax (vocab_size 12000) read as <UNK>.
    self.assertEqual(vocab.id_to_word(4), "<UNK>")
    self.assertEqual(vocab.id_to_word(11999), "<UNK>")
    self.assertEqual(vocab.id_to_word(-1), "<UNK>")

  def testTrailingNewlineAndExplicitUnk(self):
    vocab, _ = self._vocab("<S> 3\n</S> 3\n<UNK> 1\nदुनिया 5\n")
    self.assertEqual(vocab.reverse_vocab, ["<S>", "</S>", "<UNK>", "दुनिया"])
    self.assertEqual(vocab.unk_id, 2)
    self.assertEqual(vocab.word_to_id("दुनिया"), 3)

  def testMissingFile(self):
    with self.assertRaisesRegex(vocabulary.VocabularyFileError,
                                "/no/such/word_counts.txt not found"):
      vocabulary.Vocabulary("/no/such/word_counts.txt")

  def testMissingStartWordNamesFile(self):
    with self.assertRaises(vocabulary.VocabularyFileError) as cm:
      self._vocab("b'a' 5\nb'<S>' 3\n</S> 3")
    self.assertIn("word_counts.txt", str(cm.exception))
    self.assertIn("'<S>'", str(cm.exception))

  def testFitsModelRefusesMoreIdsAndWarnsOfFarFewer(self):
    with self.assertRaisesRegex(
        vocabulary.VocabularyMismatchError,
        "Vocabulary v.txt has 61 words .*more than the model's vocab_size 60 "
        r"\(ckpt\): vocab_size is 60 and must be at least 61. Advice."):
      vocabulary.check_fits_model("v.txt", 61, 60, "ckpt", "Advice.")
    self.assertIsNone(vocabulary.check_fits_model("v.txt", 60, 60, "c", "A"))
    self.assertIsNone(vocabulary.check_fits_model("v.txt", 30, 60, "c", "A"))
    # The original's default config on a small data set: a warning with
    # both sizes, not a refusal.
    with self.assertLogs("tensorflow", "WARNING") as logs:
      warning = vocabulary.check_fits_model(
          "word_counts.txt", 39, 12000, "the model config", "Advice.")
    self.assertIn("Vocabulary word_counts.txt has 39 words (with <UNK>), far "
                  "fewer than the model's vocab_size 12000 (the model config)",
                  warning)
    self.assertIn(warning, logs.output[0])

  def testBlankLine(self):
    with self.assertRaisesRegex(vocabulary.VocabularyFileError, "line 2"):
      self._vocab("<S> 1\n\n</S> 1")


if __name__ == "__main__":
  unittest.main()
