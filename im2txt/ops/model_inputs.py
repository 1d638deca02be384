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
"""The batch a Show and Tell model trains or evaluates on.

``read_batch`` builds the reading pipeline (records of images, or cached
encoder outputs) and returns an ``InputBatch``. ShowAndTellModel calls it
when it is given no batch; a trainer with several clones calls it once and
gives each clone its own batch (see im2txt/training/model_deploy.py);
tests give a model fixed batches.
"""

import collections

import tensorflow.compat.v1 as tf

from im2txt.ops import feature_inputs
from im2txt.ops import image_embedding
from im2txt.ops import image_processing
from im2txt.ops import inputs as input_ops

# One batch: `images` float32 [batch, height, width, 3] or, when training
# from cached features, `image_features` float32 [batch, 2048] (the other
# one None); `input_seqs`, `target_seqs` int64 and `input_mask` int32, all
# [batch, padded_length]; `image_ids` int64 [batch] when asked for (for
# rewards against each image's references), else None.
InputBatch = collections.namedtuple(
    "InputBatch",
    ["images", "image_features", "input_seqs", "target_seqs", "input_mask",
     "image_ids"])
InputBatch.__new__.__defaults__ = (None,)


def process_image(config, is_training, encoded_image, thread_id=0):
  """Decodes and preprocesses one image as the model's config says."""
  return image_processing.process_image(
      encoded_image,
      is_training=is_training,
      height=config.image_height,
      width=config.image_width,
      resize_height=config.resize_height,
      resize_width=config.resize_width,
      thread_id=thread_id,
      image_format=config.image_format)


def read_batch(config, is_training, features_file_pattern="",
               image_ids=False):
  """Builds the reading pipeline and returns its InputBatch.

  Args:
    config: A ModelConfig (input_file_pattern, batch_size, queue sizes).
    is_training: Shuffled and distorted (training) or in order (eval).
    features_file_pattern: Read cached encoder outputs instead of images.
    image_ids: Whether the batch carries its rows' image ids.

  Returns:
    An InputBatch of config.batch_size examples.
  """
  if features_file_pattern:
    (features, input_seqs, target_seqs, input_mask,
     *ids) = feature_inputs.feature_batches(
         features_file_pattern,
         batch_size=config.batch_size,
         feature_size=image_embedding.OUTPUT_SIZE,
         values_per_shard=config.values_per_input_shard,
         input_queue_capacity_factor=config.input_queue_capacity_factor,
         num_parallel_calls=config.num_preprocess_threads,
         image_ids=image_ids)
    return InputBatch(None, features, input_seqs, target_seqs, input_mask,
                      *ids)
  images, input_seqs, target_seqs, input_mask, *ids = (
      input_ops.caption_batches(
          tf.TFRecordReader(), config, is_training,
          lambda encoded, thread_id: process_image(config, is_training,
                                                   encoded, thread_id),
          image_ids=image_ids))
  return InputBatch(images, None, input_seqs, target_seqs, input_mask, *ids)
