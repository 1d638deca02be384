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
"""How the builder cuts captions into words, for any language.

Every caption is first normalised to Unicode NFC (a letter typed as one
code point or as a base letter and a combining accent becomes the same
word), then lowercased when ``lowercase`` is set (the original always
lowercases), then cut by one of

* ``nltk``: the original's Penn Treebank rules (vocab_builder.py), for
  English;
* ``whitespace``: split at Unicode whitespace, and every punctuation mark or
  symbol (Unicode categories P and S) a word of its own; for languages that
  put spaces between words (German, Russian, Hindi, ...);
* ``character``: every character that is not whitespace a word of its own
  (combining marks stay with their character); for Chinese and Japanese,
  which do not.

A Tokenizer's ``description()`` is what the builder records in its
manifest and build report and what ``train`` copies into model_config.json
(``caption_tokenizer``, ``caption_lowercase``, ``caption_normalization``),
so that scoring uses the same: captions of the ``nltk`` tokenizer are
scored as coco-caption scores them (through its PTB tokenizer), those of
the others on their own words, which the PTB tokenizer's English rules
would re-cut (caption_metrics.score).
"""

import collections
import unicodedata

from im2txt.data import schema
from im2txt.data import vocab_builder

TOKENIZERS = ("nltk", "whitespace", "character")
DEFAULT_TOKENIZER = "nltk"
NORMALIZATION = "NFC"


class TokenizerMismatchError(ValueError):
  """Captions tokenized one way would be scored or decoded another way."""


def _is_break(char):
  return unicodedata.category(char)[0] in "PS"


def _whitespace_tokens(text):
  tokens = []
  for chunk in text.split():
    word = ""
    for char in chunk:
      if _is_break(char):
        if word:
          tokens.append(word)
          word = ""
        tokens.append(char)
      else:
        word += char
    if word:
      tokens.append(word)
  return tokens


def _character_tokens(text):
  tokens = []
  for char in text:
    if char.isspace():
      continue
    if tokens and unicodedata.category(char).startswith("M"):
      tokens[-1] += char  # A combining mark NFC could not compose.
    else:
      tokens.append(char)
  return tokens


class Tokenizer(collections.namedtuple("Tokenizer", ["name", "lowercase"])):
  """One of TOKENIZERS, with or without lowercasing (picklable, so that the
  builder's worker processes receive it)."""

  def __new__(cls, name=DEFAULT_TOKENIZER, lowercase=True):
    if name not in TOKENIZERS:
      raise ValueError("Unknown tokenizer %r; the tokenizers are %s."
                       % (name, ", ".join(TOKENIZERS)))
    return super().__new__(cls, name, bool(lowercase))

  def words(self, caption):
    """The caption's words, without start and end words."""
    text = unicodedata.normalize(NORMALIZATION, caption)
    if self.lowercase:
      text = text.lower()
    if self.name == "nltk":
      return vocab_builder.tokenize(text)
    if self.name == "whitespace":
      return _whitespace_tokens(text)
    return _character_tokens(text)

  def process_caption(self, caption, start_word=schema.START_WORD,
                      end_word=schema.END_WORD):
    """[start_word, words..., end_word]."""
    return [start_word] + self.words(caption) + [end_word]

  def is_default(self):
    return self == Tokenizer()

  def description(self):
    """What the manifest, the report and model_config.json record."""
    return {"caption_tokenizer": self.name,
            "caption_lowercase": self.lowercase,
            "caption_normalization": NORMALIZATION}

  @property
  def scored_on_tokens(self):
    """Whether caption metrics score this tokenizer's words as they are
    instead of through coco-caption's PTB tokenizer."""
    return self.name != "nltk"


def from_description(values, source):
  """The Tokenizer a description (a manifest, a model config) records;
  the original's when it records none.

  Raises:
    TokenizerMismatchError: If it names an unknown tokenizer or
      normalization (a newer project's files).
  """
  name = values.get("caption_tokenizer") or DEFAULT_TOKENIZER
  normalization = values.get("caption_normalization") or NORMALIZATION
  if name not in TOKENIZERS or normalization != NORMALIZATION:
    raise TokenizerMismatchError(
        "%s records the tokenizer %r with normalization %r; this version "
        "knows %s with %s." % (source, name, normalization,
                               ", ".join(TOKENIZERS), NORMALIZATION))
  lowercase = values.get("caption_lowercase")
  return Tokenizer(name, True if lowercase is None else lowercase)


def check_same(model_tokenizer, model_source, data_tokenizer, data_source):
  """Raises TokenizerMismatchError if a model and data disagree."""
  if model_tokenizer != data_tokenizer:
    raise TokenizerMismatchError(
        "%s was trained on captions cut by the %s tokenizer (lowercase: "
        "%s), but %s were cut by the %s tokenizer (lowercase: %s): their "
        "words would not match. Rebuild the data with --tokenizer=%s%s, or "
        "use a model trained on this data." % (
            model_source, model_tokenizer.name, model_tokenizer.lowercase,
            data_source, data_tokenizer.name, data_tokenizer.lowercase,
            model_tokenizer.name,
            "" if model_tokenizer.lowercase else " --nolowercase"))
