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
"""Vocabulary of the caption generator, read from the builder's word_counts.txt.

File format (written by im2txt/data/build_mscoco_data.py): one word per line,
optionally followed by whitespace and its count ("a 969108"); the line
number is the word id. The file normally has no ``<UNK>`` line: the reader
appends the unknown word with id = number of lines, so ids that the
builder gave to out-of-vocabulary words read back as ``<UNK>``. A model's
softmax may be wider than the vocabulary (vocab_size 12000 for about 11520
words); ids past the end also read as the unknown word.
"""

import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import schema


class VocabularyFileError(ValueError):
  """The vocabulary file is missing or malformed."""


class VocabularyMismatchError(ValueError):
  """A vocabulary (or the data's word ids) does not fit the model."""


# A vocabulary that fills less than this share of the model's softmax is
# unusual: the original's own default config (vocab_size 12000) trained on a
# few hundred images has a few dozen words. It is allowed, with a warning,
# since a vocabulary that is not the model's is one cause (its words' ids
# would point at other classes).
MIN_VOCAB_FILL = 0.5


def check_fits_model(vocab_file, num_ids, vocab_size, model, advice):
  """The one rule of train's pre-flight check, evaluation, captioning and
  the export.

  A model whose softmax has vocab_size classes can use a vocabulary of at
  most vocab_size ids, <UNK> included: a larger one is refused (its last
  words could never be predicted, or its records' ids would be out of
  range). A wider softmax is allowed (the original's 12000 for about 11520
  words); one more than twice the vocabulary (MIN_VOCAB_FILL) gets a
  warning naming both sizes.

  Args:
    vocab_file: The vocabulary's path (named in the error).
    num_ids: Its number of ids, <UNK> included.
    vocab_size: ModelConfig.vocab_size of the model.
    model: What the model is (a checkpoint path or a config), for the error.
    advice: The sentence that says what to do.

  Returns:
    The warning logged, or None.

  Raises:
    VocabularyMismatchError: If num_ids > vocab_size.
  """
  if num_ids > vocab_size:
    raise VocabularyMismatchError(
        "Vocabulary %s has %d words (with <UNK>), more than the model's "
        "vocab_size %d (%s): vocab_size is %d and must be at least %d. %s"
        % (vocab_file, num_ids, vocab_size, model, vocab_size, num_ids,
           advice))
  if num_ids < MIN_VOCAB_FILL * vocab_size:
    warning = (
        "Vocabulary %s has %d words (with <UNK>), far fewer than the "
        "model's vocab_size %d (%s): %d of the softmax's classes are never a "
        "word. Fine for a small data set; if this is not the vocabulary the "
        "model was trained with, its captions will be wrong."
        % (vocab_file, num_ids, vocab_size, model, vocab_size - num_ids))
    tf.logging.warning(warning)
    return warning
  return None


class Vocabulary(object):
  """Maps words to integer ids and back."""

  def __init__(self,
               vocab_file,
               start_word=schema.START_WORD,
               end_word=schema.END_WORD,
               unk_word="<UNK>"):
    """Reads the vocabulary.

    Args:
      vocab_file: Path of word_counts.txt.
      start_word: The special word marking the start of a sentence.
      end_word: The special word marking the end of a sentence.
      unk_word: The special word for unknown words.

    Raises:
      VocabularyFileError: If the file is missing, has a blank line, or lacks
        the start or end word.
    """
    if not tf.gfile.Exists(vocab_file):
      raise VocabularyFileError("Vocab file %s not found." % vocab_file)
    tf.logging.info("Initializing vocabulary from file: %s", vocab_file)

    with tf.gfile.GFile(vocab_file, mode="rb") as f:
      lines = f.read().decode("utf-8").split("\n")
    # A trailing newline (from an editor) leaves one empty last element.
    if lines and not lines[-1].strip():
      lines.pop()
    reverse_vocab = []
    for number, line in enumerate(lines, start=1):
      fields = line.split()
      if not fields:
        raise VocabularyFileError("%s: line %d is blank" % (vocab_file, number))
      reverse_vocab.append(fields[0])
    for word in (start_word, end_word):
      if word not in reverse_vocab:
        raise VocabularyFileError(
            "%s does not contain the word %r; is it a word_counts.txt written "
            "by build_mscoco_data?" % (vocab_file, word))
    if unk_word not in reverse_vocab:
      reverse_vocab.append(unk_word)
    # A later duplicate line wins, as in the original.
    vocab = {word: i for i, word in enumerate(reverse_vocab)}

    tf.logging.info("Created vocabulary with %d words", len(vocab))

    self.vocab_file = vocab_file
    self.vocab = vocab  # vocab[word] = id
    self.reverse_vocab = reverse_vocab  # reverse_vocab[id] = word

    # Save special word ids.
    self.start_id = vocab[start_word]
    self.end_id = vocab[end_word]
    self.unk_id = vocab[unk_word]

  def __len__(self):
    """Number of ids, the unknown word included."""
    return len(self.reverse_vocab)

  def word_to_id(self, word):
    """Returns the integer word id of a word string."""
    if word in self.vocab:
      return self.vocab[word]
    return self.unk_id

  def id_to_word(self, word_id):
    """Returns the word string of an integer word id."""
    if word_id >= len(self.reverse_vocab) or word_id < 0:
      return self.reverse_vocab[self.unk_id]
    return self.reverse_vocab[word_id]
