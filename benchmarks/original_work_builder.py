#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""build_mscoco_data doing the original im2txt builder's work (a baseline).

Same flags as build_mscoco_data; runs it with --parallelism=threads and with
the work the original's builder does put back:

  * TensorFlow is imported (the original builds with it);
  * every image is decoded with TensorFlow's decoder once per caption (no
    verdict cache, no Pillow check);
  * records are built as tf.train.SequenceExample protocol buffers and
    written with tf.io.TFRecordWriter;
  * captions are tokenized with nltk's word_tokenize as installed.

The records are the same as the project's builder writes (the order of map
entries aside, which the original left to the protobuf library). Used by
builder_throughput.py and stages.py as the in-run baseline for the
original's builder.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

import im2txt  # noqa: E402,F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # noqa: E402
from nltk.tokenize import word_tokenize  # noqa: E402

from im2txt.data import build_mscoco_data  # noqa: E402
from im2txt.data import image_checks  # noqa: E402
from im2txt.data import record_io  # noqa: E402
from im2txt.data import schema  # noqa: E402
from im2txt.data import vocab_builder  # noqa: E402


class NoCache(image_checks.ImageCache):
  """Decodes every image once per caption, as the original builder does."""

  def load(self, filename, decoder):
    return decoder.prepare(image_checks.read_image_file(filename))


class _NltkTokenizer(object):

  def tokenize(self, text):
    return word_tokenize(text, preserve_line=True)


def _serialize(image_id, encoded_image, tokens, token_ids):
  return schema.make_sequence_example(image_id, encoded_image, tokens,
                                      token_ids).SerializeToString()


def use_original_work():
  """Puts the original builder's work back into the project's builder."""
  image_checks.ImageCache = NoCache
  image_checks.pillow_decodes_jpeg = lambda unused_data: False
  record_io.RecordWriter = tf.python_io.TFRecordWriter
  record_io.serialize_sequence_example = _serialize
  vocab_builder._TOKENIZER = _NltkTokenizer()  # pylint: disable=protected-access


if __name__ == "__main__":
  use_original_work()
  sys.argv = [a for a in sys.argv if not a.startswith("--parallelism")]
  sys.argv.append("--parallelism=threads")
  build_mscoco_data.run()
