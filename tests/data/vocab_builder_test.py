"""Tests of caption tokenization and the word_counts.txt vocabulary rule."""

import random
import unittest

from nltk.tokenize import word_tokenize

from im2txt.data import demo_data
from im2txt.data import vocab_builder


class ProcessCaptionTest(unittest.TestCase):

  def testLowercasedTreebankTokensWithoutPunktData(self):
    self.assertEqual(
        vocab_builder.process_caption("A man's surfboard, isn't it?"),
        ["<S>", "a", "man", "'s", "surfboard", ",", "is", "n't", "it", "?",
         "</S>"])

  def testSentencePunctuationStaysOneSentence(self):
    # The punkt splitter is skipped: a caption with two periods is one line.
    self.assertEqual(
        vocab_builder.process_caption("Two dogs. One cat."),
        ["<S>", "two", "dogs.", "one", "cat", ".", "</S>"])

  def testNonAscii(self):
    tokens = vocab_builder.process_caption("एक आदमी सर्फिंग कर रहा है")
    self.assertEqual(tokens[0], "<S>")
    self.assertEqual(tokens[-1], "</S>")
    self.assertEqual(len(tokens), 8)

  def testCustomStartAndEnd(self):
    self.assertEqual(vocab_builder.process_caption("Hi", "[", "]"),
                     ["[", "hi", "]"])


class StdlibPatternsTest(unittest.TestCase):
  """The builder's tokenizer (nltk's patterns compiled by `re`) against
  nltk's own word_tokenize (the `regex` engine)."""

  def _assert_same(self, texts):
    differing = [(t, word_tokenize(t, preserve_line=True),
                  vocab_builder._TOKENIZER.tokenize(t))  # pylint: disable=protected-access
                 for t in texts]
    differing = [d for d in differing if d[1] != d[2]]
    self.assertEqual(differing, [])

  def testDemoCaptions(self):
    rng = random.Random(0)
    captions = [c for _ in range(100)
                for c in demo_data.make_scene(rng, (32, 24))[1]]
    self._assert_same([c.lower() for c in captions])

  def testPunctuationQuotesContractionsAndUnicode(self):
    self._assert_same([
        'he said "hello" -- and (then) left...',
        "it's a dog's bone, isn't it? can't won't gonna gimme wanna 'tis",
        "``quoted'' text; [brackets] {braces} <tags> cost $3.88 (3,36 eur)",
        "ünïcödé café—naïve “smart quotes” ‘single’ 100% 50&50 @home #t",
        "a.b.c. u.s.a. e.g. etc. end with period.", "", "   ", "--", "'"])

  def testRandomCharacterStrings(self):
    rng = random.Random(1)
    alphabet = "abc xyz.,;:!?'\"()[]{}<>-—–$%&@#*/\\`~^|+=_019ÀéÜñ\t\n"
    self._assert_same(["".join(rng.choice(alphabet)
                               for _ in range(rng.randint(0, 60)))
                       for _ in range(3000)])


class CreateVocabTest(unittest.TestCase):

  def testMinCountSortAndUnknownId(self):
    captions = [["<S>", "a", "dog", "</S>"], ["<S>", "a", "cat", "</S>"],
                ["<S>", "a", "dog", "runs", "</S>"]]
    vocab, total = vocab_builder.create_vocab(captions, min_word_count=2)
    self.assertEqual(total, 6)
    # a: 3, then <S>/</S>: 3 (first appearance order: <S> before a),
    # dog: 2. cat and runs (1) are out.
    self.assertEqual(vocab.word_counts,
                     [("<S>", 3), ("a", 3), ("</S>", 3), ("dog", 2)])
    self.assertEqual(vocab.word_to_id("dog"), 3)
    self.assertEqual(vocab.word_to_id("cat"), 4)
    self.assertEqual(vocab.unk_id, 4)
    self.assertEqual(vocab.to_file_contents(), "<S> 3\na 3\n</S> 3\ndog 2")

  def testDefaultMinCountIsFour(self):
    captions = [["x"]] * 4 + [["y"]] * 3
    vocab, _ = vocab_builder.create_vocab(captions)
    self.assertEqual(vocab.word_counts, [("x", 4)])


if __name__ == "__main__":
  unittest.main()
