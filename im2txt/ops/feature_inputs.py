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
"""Input pipeline of phase-1 training from cached encoder features.

A tf.data pipeline in graph mode with the queue pipeline's semantics:

  feature shards (im2txt/data/feature_records.py), shuffled, repeated
    -> interleaved records, parsed in parallel
    -> one element per caption, each with the features of a crop drawn at
       random from the image's K crops
    -> shuffle buffer of values_per_shard * input_queue_capacity_factor
       captions (the records queue's min_after_dequeue)
    -> input, target and mask sequences exactly as batch_with_dynamic_pad
       makes them, padded to the batch's longest caption
    -> batches of batch_size (the last partial batch of a pass is not
       dropped: the data repeat), prefetched.
"""

# TF1 behaviour.
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from im2txt.ops import inputs as input_ops


def match_feature_files(file_pattern):
  """The feature shards matching a pattern, without their descriptions.

  Raises:
    input_ops.NoInputFilesError: If no shard matches.
  """
  files = [f for f in input_ops.match_input_files(file_pattern)
           if feature_records.is_shard_file(f)]
  if not files:
    raise input_ops.NoInputFilesError(
        "Found no feature shards matching %s (only descriptions or "
        "temporary files)" % file_pattern)
  return files


def _parse(serialized):
  parsed = tf.parse_single_example(serialized, {
      feature_records.IMAGE_ID_KEY: tf.FixedLenFeature([], tf.int64),
      feature_records.FEATURES_KEY: tf.VarLenFeature(tf.float32),
      feature_records.NUM_CROPS_KEY: tf.FixedLenFeature([], tf.int64),
      feature_records.CAPTION_IDS_KEY: tf.VarLenFeature(tf.int64),
      feature_records.CAPTION_LENGTHS_KEY: tf.VarLenFeature(tf.int64),
  })
  num_crops = parsed[feature_records.NUM_CROPS_KEY]
  features = tf.reshape(
      tf.sparse.to_dense(parsed[feature_records.FEATURES_KEY]),
      tf.stack([num_crops, -1]))
  lengths = tf.sparse.to_dense(parsed[feature_records.CAPTION_LENGTHS_KEY])
  ids = tf.sparse.to_dense(parsed[feature_records.CAPTION_IDS_KEY])
  captions = tf.RaggedTensor.from_row_lengths(ids, lengths).to_tensor()
  # A crop per caption, uniformly among the image's crops.
  crops = tf.random.uniform(tf.shape(lengths), maxval=tf.cast(num_crops,
                                                              tf.int32),
                            dtype=tf.int32)
  image_ids = tf.fill(tf.shape(lengths), parsed[feature_records.IMAGE_ID_KEY])
  return tf.gather(features, crops), captions, lengths, image_ids


def _sequences(features, padded_caption, length, image_id):
  caption = padded_caption[:length]
  input_length = length - 1
  return (features, caption[:input_length], caption[1:],
          tf.ones(tf.expand_dims(input_length, 0), dtype=tf.int32), image_id)


def feature_batches(file_pattern, batch_size, feature_size, values_per_shard,
                    input_queue_capacity_factor=16, num_parallel_calls=4,
                    image_ids=False):
  """Returns batches of (features, input_seqs, target_seqs, mask) tensors.

  Args:
    file_pattern: Comma-separated patterns of feature shards.
    batch_size: Batch size.
    feature_size: Size of one encoder output (2048 for Inception v3).
    values_per_shard: Approximate captions per shard (sizes the shuffle).
    input_queue_capacity_factor: Shards' worth of captions in the buffer.
    num_parallel_calls: Parallel parsing calls.
    image_ids: Whether to also return each row's image id.

  Returns:
    features: float32 [batch_size, feature_size].
    input_seqs, target_seqs: int64 [batch_size, padded_length].
    mask: int32 [batch_size, padded_length].
    image_ids: (with image_ids only) int64 [batch_size].

  Raises:
    input_ops.NoInputFilesError: If file_pattern matches no files.
  """
  files = match_feature_files(file_pattern)
  tf.logging.info("Reading cached features from %d files matching %s",
                  len(files), file_pattern)
  dataset = tf.data.Dataset.from_tensor_slices(files)
  dataset = dataset.shuffle(len(files)).repeat()
  cycle_length = min(len(files), 4)
  dataset = dataset.interleave(
      tf.data.TFRecordDataset, cycle_length=cycle_length,
      num_parallel_calls=min(cycle_length, num_parallel_calls))
  dataset = dataset.map(_parse, num_parallel_calls=num_parallel_calls)
  dataset = dataset.flat_map(
      lambda *image: tf.data.Dataset.from_tensor_slices(image))
  dataset = dataset.shuffle(values_per_shard * input_queue_capacity_factor)
  dataset = dataset.map(_sequences, num_parallel_calls=num_parallel_calls)
  dataset = dataset.padded_batch(
      batch_size,
      padded_shapes=([feature_size], [None], [None], [None], []),
      drop_remainder=True)
  dataset = dataset.prefetch(2)
  features, input_seqs, target_seqs, mask, ids = (
      tf.data.make_one_shot_iterator(dataset).get_next())
  if image_ids:
    return features, input_seqs, target_seqs, mask, ids
  return features, input_seqs, target_seqs, mask
