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
"""The im2txt record format: one place for the SequenceExample schema.

One record is one image-caption pair, a ``tf.train.SequenceExample``:

  context:
    image/image_id     int64, 1 value    MSCOCO image id
    image/data         bytes, 1 value    the JPEG file bytes (RGB baseline or
                                         progressive JPEG; see the builder)
  feature_lists:
    image/caption      bytes, one feature per token, "<S>" first, "</S>" last
    image/caption_ids  int64, one feature per token (the ids of the same
                       tokens; unknown words map to the unknown-word id,
                       which equals the number of lines in word_counts.txt)

The writer (:mod:`im2txt.data.shard_writer`), the model's input reader
(:mod:`im2txt.ops.inputs` via :class:`im2txt.configuration.ModelConfig`) and
the tests all use the keys and helpers below; nothing else spells them out.
The start and end words and the model's variable scopes, which checkpoints
depend on, are defined here too.
This module does not import TensorFlow's graph machinery; it only builds and
parses protocol buffers.
"""

IMAGE_ID_KEY = "image/image_id"
IMAGE_DATA_KEY = "image/data"
CAPTION_KEY = "image/caption"
CAPTION_IDS_KEY = "image/caption_ids"

# Start and end words of every caption (the builder's defaults, the
# vocabulary's and the readers').
START_WORD = "<S>"
END_WORD = "</S>"

# Variable scope of the Inception v3 encoder: the official checkpoint's names
# start with it, and so do the encoder variables of every im2txt checkpoint.
ENCODER_SCOPE = "InceptionV3"

# The decoder's variable scopes and names (im2txt/ops/decoder.py), the
# checkpoint names of the original im2txt with TensorFlow >= 1.2:
#   image_embedding/weights, seq_embedding/map, lstm/basic_lstm_cell/kernel
#   and /bias, logits/weights and /biases.
IMAGE_EMBEDDING_SCOPE = "image_embedding"
WORD_EMBEDDING_SCOPE = "seq_embedding"
WORD_EMBEDDING_MAP = "map"
LSTM_SCOPE = "lstm"
LOGITS_SCOPE = "logits"
WEIGHTS = "weights"
BIASES = "biases"
# Full names (the LSTM cell names its own variables inside LSTM_SCOPE).
PROJECTION_WEIGHTS_NAME = IMAGE_EMBEDDING_SCOPE + "/" + WEIGHTS
EMBEDDING_MAP_NAME = WORD_EMBEDDING_SCOPE + "/" + WORD_EMBEDDING_MAP
LSTM_KERNEL_NAME = LSTM_SCOPE + "/basic_lstm_cell/kernel"
LSTM_BIAS_NAME = LSTM_SCOPE + "/basic_lstm_cell/bias"
LOGITS_WEIGHTS_NAME = LOGITS_SCOPE + "/" + WEIGHTS
LOGITS_BIASES_NAME = LOGITS_SCOPE + "/" + BIASES


def _tf():
  # Sets TF_USE_LEGACY_KERAS first.
  import im2txt  # noqa: F401  pylint: disable=unused-import
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  return tf


def make_sequence_example(image_id, encoded_image, tokens, token_ids):
  """Builds the SequenceExample of one image-caption pair.

  Args:
    image_id: Integer image id.
    encoded_image: The encoded (JPEG) image, as bytes.
    tokens: List of str tokens of the caption, including start and end words.
    token_ids: List of int ids, one per token.

  Returns:
    A tf.train.SequenceExample.

  Raises:
    ValueError: If `tokens` and `token_ids` differ in length or are empty.
  """
  tf = _tf()
  if len(tokens) != len(token_ids) or not tokens:
    raise ValueError("A caption needs as many ids as tokens and at least one "
                     "token; got %d tokens and %d ids" %
                     (len(tokens), len(token_ids)))
  if not isinstance(encoded_image, bytes):
    raise ValueError("encoded_image must be bytes, got %s"
                     % type(encoded_image))
  context = tf.train.Features(feature={
      IMAGE_ID_KEY: tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(image_id)])),
      IMAGE_DATA_KEY: tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[encoded_image])),
  })
  feature_lists = tf.train.FeatureLists(feature_list={
      CAPTION_KEY: tf.train.FeatureList(feature=[
          tf.train.Feature(bytes_list=tf.train.BytesList(
              value=[t.encode("utf-8")])) for t in tokens]),
      CAPTION_IDS_KEY: tf.train.FeatureList(feature=[
          tf.train.Feature(int64_list=tf.train.Int64List(value=[int(i)]))
          for i in token_ids]),
  })
  return tf.train.SequenceExample(context=context, feature_lists=feature_lists)


def parse_sequence_example_proto(serialized):
  """Parses a serialized record in Python (no graph), for tools and tests.

  Args:
    serialized: Bytes of one SequenceExample.

  Returns:
    A dict with keys "image_id" (int), "image" (bytes), "caption" (list of
    str tokens) and "caption_ids" (list of int).

  Raises:
    ValueError: If the record lacks one of the keys.
  """
  tf = _tf()
  example = tf.train.SequenceExample.FromString(serialized)
  ctx = example.context.feature
  lists = example.feature_lists.feature_list
  for key in (IMAGE_ID_KEY, IMAGE_DATA_KEY):
    if key not in ctx:
      raise ValueError("record has no context feature %r" % key)
  for key in (CAPTION_KEY, CAPTION_IDS_KEY):
    if key not in lists:
      raise ValueError("record has no feature list %r" % key)
  return {
      "image_id": ctx[IMAGE_ID_KEY].int64_list.value[0],
      "image": ctx[IMAGE_DATA_KEY].bytes_list.value[0],
      "caption": [f.bytes_list.value[0].decode("utf-8")
                  for f in lists[CAPTION_KEY].feature],
      "caption_ids": [f.int64_list.value[0]
                      for f in lists[CAPTION_IDS_KEY].feature],
  }
