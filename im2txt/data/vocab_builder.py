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
"""Caption tokenization and the word-count vocabulary of the builder.

Tokenization is the original's: lowercase the caption, split it into Penn
Treebank tokens with NLTK, and wrap it in start and end words. NLTK's
``word_tokenize`` normally runs the punkt sentence splitter first, which
needs a data download; a caption is one sentence, so the splitter is skipped
(``preserve_line=True``) and no NLTK data is needed. The tokens are the
original's for every one-sentence caption; in the rare caption with a period
inside it ("two dogs. one cat.") the inner period stays attached to its word
("dogs.") where punkt would have split it off.

The vocabulary file (``word_counts.txt``) has one ``"<word> <count>"`` line
per word seen at least ``min_word_count`` times in the training captions
(start and end words included), most frequent first, ties in order of first
appearance; lines are joined by newlines with no trailing newline. A word's id
is its line number; every other word maps to the unknown id, which equals
the number of lines (``<UNK>`` itself is not written; the reader appends it).
"""

import collections
import re

from nltk.tokenize import destructive

from im2txt.common import file_io
from im2txt.data import schema


def _stdlib_patterns(tokenizer):
  """Gives an NLTKWordTokenizer stdlib `re` patterns in place of its own.

  nltk 3.10 compiles every pattern with the third-party `regex` engine under
  a time limit (a defence against hostile patterns, which these fixed ones
  are not); that makes word_tokenize about 8x slower, most of the builder's
  work on small data and minutes of CPU on MSCOCO. The same pattern strings
  compiled by `re` give the same tokens (checked against word_tokenize by
  the tests on every demo caption and on punctuation-heavy ones).
  """
  known_flags = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE
  def plain(pattern):
    if isinstance(pattern, re.Pattern):
      return pattern
    return re.compile(pattern.pattern, pattern.flags & known_flags)
  for name in ("STARTING_QUOTES", "PUNCTUATION", "ENDING_QUOTES",
               "CONVERT_PARENTHESES"):
    setattr(tokenizer, name, [(plain(p), r) for p, r in getattr(tokenizer,
                                                                name)])
  for name in ("PARENS_BRACKETS", "DOUBLE_DASHES"):
    pattern, replacement = getattr(tokenizer, name)
    setattr(tokenizer, name, (plain(pattern), replacement))
  for name in ("CONTRACTIONS2", "CONTRACTIONS3"):
    setattr(tokenizer, name, [plain(p) for p in getattr(tokenizer, name)])
  return tokenizer


# word_tokenize(text, preserve_line=True) is this tokenizer's tokenize(text).
_TOKENIZER = _stdlib_patterns(destructive.NLTKWordTokenizer())


def tokenize(text):
  """Penn Treebank tokens of `text` as it is (no lowercasing)."""
  return _TOKENIZER.tokenize(text)


def process_caption(caption, start_word=schema.START_WORD,
                    end_word=schema.END_WORD):
  """Tokenizes one caption.

  Args:
    caption: A str caption.
    start_word: Token prepended to the caption.
    end_word: Token appended to the caption.

  Returns:
    A list of str tokens: [start_word, lowercased tokens..., end_word].
  """
  tokens = [start_word]
  tokens.extend(_TOKENIZER.tokenize(caption.lower()))
  tokens.append(end_word)
  return tokens


class WordCounts(object):
  """Word-to-id map of the builder (ids are line numbers of word_counts.txt)."""

  def __init__(self, word_counts):
    """Builds the map.

    Args:
      word_counts: A list of (word, count) pairs in file order.
    """
    self.word_counts = list(word_counts)
    self._vocab = {word: i for i, (word, _) in enumerate(self.word_counts)}
    self.unk_id = len(self.word_counts)

  def __len__(self):
    return len(self.word_counts)

  def word_to_id(self, word):
    """Returns the integer id of a word, or unk_id."""
    return self._vocab.get(word, self.unk_id)

  def to_file_contents(self):
    """Returns the text of word_counts.txt (no trailing newline)."""
    return "\n".join("%s %d" % (w, c) for w, c in self.word_counts)


def count_words(tokenized_captions):
  """Counts tokens over captions, in order of first appearance."""
  counter = collections.Counter()
  for tokens in tokenized_captions:
    counter.update(tokens)
  return counter


class BaseVocabularyError(ValueError):
  """A base vocabulary file cannot be read as a word_counts.txt."""


def read_base_vocab(path):
  """The (word, count) lines of a word_counts.txt, in order.

  Raises:
    BaseVocabularyError: Naming the file and line, if it is missing or a
      line is not "<word> <count>" or repeats a word.
  """
  try:
    text = file_io.read_bytes(path).decode("utf-8")
  except FileNotFoundError:
    raise BaseVocabularyError("%s: base vocabulary file not found" % path)
  except UnicodeDecodeError as e:
    raise BaseVocabularyError("%s: not UTF-8 text (%s)" % (path, e))
  pairs, seen = [], set()
  lines = text.split("\n")
  for number, line in enumerate(lines, start=1):
    if not line.strip() and number == len(lines):
      continue  # A trailing newline.
    fields = line.split()
    if len(fields) != 2 or not fields[1].isdigit():
      raise BaseVocabularyError(
          "%s: line %d is %.100r, not \"<word> <count>\" as build_mscoco_data "
          "writes word_counts.txt" % (path, number, line))
    if fields[0] in seen:
      raise BaseVocabularyError("%s: line %d repeats the word %r"
                                % (path, number, fields[0]))
    seen.add(fields[0])
    pairs.append((fields[0], int(fields[1])))
  return pairs


def create_vocab(tokenized_captions, min_word_count=4, base_vocab=None):
  """Builds the vocabulary of a list of tokenized captions.

  Args:
    tokenized_captions: An iterable of token lists (training captions).
    min_word_count: Minimum count for a word to get its own id.
    base_vocab: Optional (word, count) pairs of an earlier vocabulary
      (read_base_vocab): they stay first, at their ids and with their
      lines unchanged, and only the words they lack are added, in the usual
      order, so that a model of the base vocabulary can be extended.

  Returns:
    (WordCounts, total number of distinct words)
  """
  counter = count_words(tokenized_captions)
  base_vocab = list(base_vocab or [])
  known = set(word for word, _ in base_vocab)
  kept = [x for x in counter.items()
          if x[1] >= min_word_count and x[0] not in known]
  # Stable sort: equal counts keep their first-appearance order.
  kept.sort(key=lambda x: x[1], reverse=True)
  return WordCounts(base_vocab + kept), len(counter)
