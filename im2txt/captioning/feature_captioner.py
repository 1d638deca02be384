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
"""Captioning a split from its cached encoder outputs.

cache_features stores, per image of a split, the frozen encoder's output of
crop 0, which is the inference preprocessing (resize, central crop) that
run_inference's graph applies; so a checkpoint whose encoder is the one the
features were made with captions those images from the cache exactly as
from their pixels, without running Inception v3 again: the inference
graph's FEATURES_FEED goes through the same projection and LSTM
(show_and_tell_model.py), and the beam search is the batched one.

* ``read_split`` / ``features_of_split``: (image_id, crop-0 features,
  shard) per image, and (image_id, caption ids) per caption;
* ``check_encoder``: refuses shards of another encoder or image size,
  naming the shard;
* ``caption_features``: the results and top-k entries, as caption_all
  writes them for images.
"""

import time

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.data import feature_records
from im2txt.data import records
from im2txt.ops import feature_inputs


class FeatureCaptioningError(ValueError):
  """The features cannot be captioned by this checkpoint (file named)."""


def read_split(file_pattern):
  """A split's cache, read once: ([(image_id, float32 [2048] crop-0 encoder
  output, shard path)] per image in shard order, [(image_id, caption ids)]
  per caption in the same order).

  Raises:
    input_ops.NoInputFilesError: If the pattern matches no feature shard.
    FeatureCaptioningError: If a record is corrupt (file and index named).
  """
  items, pairs = [], []
  try:
    for path in feature_inputs.match_feature_files(file_pattern):
      for record in records.read_parsed(path,
                                        feature_records.parse_example_proto):
        items.append((record["image_id"], record["features"][0], path))
        pairs.extend((record["image_id"], list(c))
                     for c in record["captions"])
  except records.RecordReadError as e:
    raise FeatureCaptioningError(str(e))
  return items, pairs


def features_of_split(file_pattern):
  """The (image_id, crop-0 features, shard path) items of read_split."""
  return read_split(file_pattern)[0]


def check_encoder(file_pattern, checkpoint, model_config):
  """Raises FeatureCaptioningError unless every shard holds the outputs of
  `checkpoint`'s encoder at the model config's image size."""
  problem = feature_records.first_shard_problem(
      feature_inputs.match_feature_files(file_pattern), checkpoint,
      model_config, lambda info: (
          "Its captions from these features would not be its captions of "
          "the images: caption the images (--input_file_pattern), or make "
          "the features with cache_features --checkpoint_path=%s."
          % checkpoint))
  if problem:
    raise FeatureCaptioningError(problem)


def caption_features(sess, generator, vocab, items, batch_size=32,
                     log_every=500):
  """Captions (image_id, features, name) items, batch_size at a time.

  Args:
    sess: The session of the inference graph (InferenceWrapper's).
    generator: A CaptionGenerator over that InferenceWrapper.
    vocab: Its Vocabulary.
    items: From features_of_split.
    batch_size: Images per batched beam search.
    log_every: Progress line every this many images.

  Returns:
    (results, top_k) as captioner.caption_all gives them.
  """
  results, top_k = [], []
  start = time.time()
  for first in range(0, len(items), max(1, batch_size)):
    chunk = items[first:first + max(1, batch_size)]
    states = generator.model.feed_features(
        sess, np.stack([features for _, features, _ in chunk]))
    for (image_id, _, _), captions in zip(
        chunk, generator.beam_search_states(sess, states)):
      result, beams = captioner.result_entries(image_id, captions, vocab)
      results.append(result)
      top_k.append(beams)
    if len(results) % log_every < len(chunk):
      tf.logging.info("Captioned %d images from features (%.1f images/s)",
                      len(results), len(results) / (time.time() - start))
  tf.logging.info("Captioned %d images from features in %.1f s",
                  len(results), time.time() - start)
  return results, top_k
