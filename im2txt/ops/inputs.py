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
"""Input pipeline of training and evaluation: shard queues, parsing, batching.

The pipeline is the original's queue-runner design (TF1 queues started by
``tf.train.start_queue_runners`` or slim's Supervisor):

  sharded TFRecord files
    -> filename queue (shuffled when training)
    -> values queue of serialized SequenceExamples (RandomShuffleQueue when
       training, FIFOQueue for evaluation)
    -> per-thread parse + image preprocessing
    -> batch_join with dynamic padding -> images, input_seqs, target_seqs, mask
"""

# TF1 behaviour.
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import schema


class NoInputFilesError(ValueError):
  """A file pattern matched no files."""


def parse_sequence_example(serialized, image_feature, caption_feature,
                           image_id_feature=None):
  """Parses one serialized SequenceExample into its image and caption ids.

  Args:
    serialized: A scalar string Tensor; a serialized SequenceExample.
    image_feature: Name of the context feature holding the encoded image.
    caption_feature: Name of the feature list holding the caption word ids.
    image_id_feature: Optional name of the context feature holding the
      image id; when given, the id is returned third.

  Returns:
    encoded_image: A scalar string Tensor containing a JPEG encoded image.
    caption: A 1-D int64 Tensor with the caption's word ids, start and end
      words included.
    image_id: (with image_id_feature only) an int64 scalar.
  """
  context_features = {image_feature: tf.FixedLenFeature([], dtype=tf.string)}
  if image_id_feature:
    context_features[image_id_feature] = tf.FixedLenFeature([], tf.int64)
  context, sequence = tf.parse_single_sequence_example(
      serialized,
      context_features=context_features,
      sequence_features={
          caption_feature: tf.FixedLenSequenceFeature([], dtype=tf.int64),
      })

  encoded_image = context[image_feature]
  caption = sequence[caption_feature]
  if image_id_feature:
    return encoded_image, caption, context[image_id_feature]
  return encoded_image, caption


def match_input_files(file_pattern):
  """Expands a comma-separated list of file patterns.

  Args:
    file_pattern: A string of one or more glob patterns separated by commas.

  Returns:
    The list of matching files, per pattern in glob order.

  Raises:
    NoInputFilesError: If nothing matches, or one of several patterns
      matches nothing (a typo there would silently leave its data out).
  """
  data_files = []
  parts = [pattern for pattern in file_pattern.split(",") if pattern]
  for pattern in parts:
    matched = tf.gfile.Glob(pattern)
    if not matched and len(parts) > 1:
      raise NoInputFilesError(
          "Found no input files matching %s, one of the comma-separated "
          "patterns of %s: fix or drop it." % (pattern, file_pattern))
    data_files.extend(matched)
  if not data_files:
    raise NoInputFilesError("Found no input files matching %s" % file_pattern)
  return data_files


def prefetch_input_data(reader,
                        file_pattern,
                        is_training,
                        batch_size,
                        values_per_shard,
                        input_queue_capacity_factor=16,
                        num_reader_threads=1,
                        shard_queue_name="filename_queue",
                        value_queue_name="input_queue"):
  """Fills a queue with serialized records read from sharded files.

  Args:
    reader: A reader instance such as tf.TFRecordReader().
    file_pattern: Comma-separated list of file patterns (for example
      /data/train-?????-of-00256).
    is_training: Python bool. Training shuffles the shards and draws records
      from a RandomShuffleQueue; evaluation reads shards in glob order through
      a FIFOQueue. Both cycle through the files forever.
    batch_size: Model batch size; sizes the queue's headroom.
    values_per_shard: Approximate number of records per shard.
    input_queue_capacity_factor: When training, the shuffle queue keeps at
      least this many shards' worth of records for mixing.
    num_reader_threads: Number of threads reading into the values queue.
    shard_queue_name: Name of the filename queue.
    value_queue_name: Suffix of the values queue name ("random_" or "fifo_"
      is prepended).

  Returns:
    The values queue (dequeue() gives one serialized SequenceExample).

  Raises:
    NoInputFilesError: If file_pattern matches no files.
  """
  data_files = match_input_files(file_pattern)
  tf.logging.info("Prefetching values from %d files matching %s",
                  len(data_files), file_pattern)

  if is_training:
    filename_queue = tf.train.string_input_producer(
        data_files, shuffle=True, capacity=16, name=shard_queue_name)
    min_queue_examples = values_per_shard * input_queue_capacity_factor
    capacity = min_queue_examples + 100 * batch_size
    values_queue = tf.RandomShuffleQueue(
        capacity=capacity,
        min_after_dequeue=min_queue_examples,
        dtypes=[tf.string],
        name="random_" + value_queue_name)
  else:
    filename_queue = tf.train.string_input_producer(
        data_files, shuffle=False, capacity=1, name=shard_queue_name)
    capacity = values_per_shard + 3 * batch_size
    values_queue = tf.FIFOQueue(
        capacity=capacity, dtypes=[tf.string], name="fifo_" + value_queue_name)

  enqueue_ops = []
  for _ in range(num_reader_threads):
    _, value = reader.read(filename_queue)
    enqueue_ops.append(values_queue.enqueue([value]))
  tf.train.queue_runner.add_queue_runner(
      tf.train.queue_runner.QueueRunner(values_queue, enqueue_ops))
  tf.summary.scalar(
      "queue/%s/fraction_of_%d_full" % (values_queue.name, capacity),
      tf.cast(values_queue.size(), tf.float32) * (1. / capacity))

  return values_queue


def batch_with_dynamic_pad(images_and_captions,
                           batch_size,
                           queue_capacity,
                           add_summaries=True):
  """Batches images with captions padded to the batch's longest caption.

  Each caption of length L (start and end words included) becomes an input
  sequence of its first L-1 ids, a target sequence of its last L-1 ids (the
  input shifted left by one), and a mask of L-1 ones. Shorter rows are
  padded with 0 in all three. Worked example with a batch of three captions:

    captions:    [1 2 3 4 5]   [1 2 3 4]   [1 2 3]

    input_seqs:  [1 2 3 4]     [1 2 3 0]   [1 2 0 0]
    target_seqs: [2 3 4 5]     [2 3 4 0]   [2 3 0 0]
    mask:        [1 1 1 1]     [1 1 1 0]   [1 1 0 0]

  Args:
    images_and_captions: A list of [image, caption] pairs, one per
      preprocessing thread: image a float32 Tensor [height, width, 3], caption
      a 1-D int64 Tensor of any length; or [image, caption, image_id]
      triples (image_id an int64 scalar), batched along.
    batch_size: Batch size.
    queue_capacity: Capacity of the batching queue.
    add_summaries: Whether to add caption-length summaries.

  Returns:
    images: A float32 Tensor of shape [batch_size, height, width, 3].
    input_seqs: An int64 Tensor of shape [batch_size, padded_length].
    target_seqs: An int64 Tensor of shape [batch_size, padded_length].
    mask: An int32 0/1 Tensor of shape [batch_size, padded_length].
    image_ids: (triples only) an int64 Tensor of shape [batch_size].
  """
  enqueue_list = []
  for image, caption, *image_id in images_and_captions:
    caption_length = tf.shape(caption)[0]
    input_length = tf.expand_dims(tf.subtract(caption_length, 1), 0)

    input_seq = tf.slice(caption, [0], input_length)
    target_seq = tf.slice(caption, [1], input_length)
    indicator = tf.ones(input_length, dtype=tf.int32)
    enqueue_list.append([image, input_seq, target_seq, indicator] + image_id)

  images, input_seqs, target_seqs, mask, *image_ids = tf.train.batch_join(
      enqueue_list,
      batch_size=batch_size,
      capacity=queue_capacity,
      dynamic_pad=True,
      name="batch_and_pad")

  if add_summaries:
    # Full caption lengths: the mask's row sum plus the dropped end word.
    lengths = tf.add(tf.reduce_sum(mask, 1), 1)
    tf.summary.scalar("caption_length/batch_min", tf.reduce_min(lengths))
    tf.summary.scalar("caption_length/batch_max", tf.reduce_max(lengths))
    tf.summary.scalar("caption_length/batch_mean", tf.reduce_mean(lengths))

  return tuple([images, input_seqs, target_seqs, mask] + image_ids)


def caption_batches(reader, config, is_training, process_image,
                    image_ids=False):
  """The record pipeline of training and evaluation, as one call.

  Records are prefetched into a queue (prefetch_input_data); each of
  config.num_preprocess_threads branches parses a record and preprocesses
  its image with process_image(encoded, thread_id), so that batch_join runs
  them in parallel and alternate threads use the two colour-op orders; the
  pairs are batched with dynamic padding (batch_with_dynamic_pad).

  Args:
    reader: A TFRecordReader.
    config: The ModelConfig (input_file_pattern, batch size, queue sizes,
      feature names, thread counts).
    is_training: Whether records are shuffled (training) or read in order.
    process_image: Function (encoded image, thread_id) -> float32 image.
    image_ids: Whether to also return each row's image id.

  Returns:
    (images, input_seqs, target_seqs, input_mask[, image_ids]) as
    batch_with_dynamic_pad returns them.
  """
  input_queue = prefetch_input_data(
      reader,
      config.input_file_pattern,
      is_training=is_training,
      batch_size=config.batch_size,
      values_per_shard=config.values_per_input_shard,
      input_queue_capacity_factor=config.input_queue_capacity_factor,
      num_reader_threads=config.num_input_reader_threads)
  images_and_captions = []
  for thread_id in range(config.num_preprocess_threads):
    encoded_image, caption, *image_id = parse_sequence_example(
        input_queue.dequeue(),
        image_feature=config.image_feature_name,
        caption_feature=config.caption_feature_name,
        image_id_feature=schema.IMAGE_ID_KEY if image_ids else None)
    image = process_image(encoded_image, thread_id=thread_id)
    images_and_captions.append([image, caption] + image_id)
  queue_capacity = 2 * config.num_preprocess_threads * config.batch_size
  return batch_with_dynamic_pad(images_and_captions,
                                batch_size=config.batch_size,
                                queue_capacity=queue_capacity)
