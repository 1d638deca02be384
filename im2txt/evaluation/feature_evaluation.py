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
"""evaluate's perplexity from cached encoder outputs (evaluate
--features_file_pattern).

While the encoder is frozen (phase 1), its output for an image is the same
for every checkpoint, yet evaluating from images runs Inception v3 on every
example again for each one. cache_features stores each image's output of
crop 0, the evaluation preprocessing, so a checkpoint whose encoder made
the cache (encoder_fingerprint) gets the same perplexity from it: the same
eval-mode model (its projection, LSTM and loss) fed the cached outputs.

The examples are the images path's: the eval queue reads the split's
records in file order, gives its first batch to the model's summaries and
evaluates the next ceil(num_eval_examples / batch_size) batches, wrapping
around at the end. With --input_file_pattern the same pairs are taken in
the records' order (their captions read once, not their pixels) and their
features looked up by image id; with features alone, in the cache's order.
(From images with several preprocessing threads the queue's order within a
few batches varies from run to run; with one thread it is the records'.)
"""

import math
import time

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import show_and_tell_model
from im2txt.captioning import feature_captioner
from im2txt.common import checkpoints
from im2txt.data import feature_records
from im2txt.data import records
from im2txt.evaluation import perplexity
from im2txt.ops import feature_inputs
from im2txt.ops import image_embedding
from im2txt.ops import inputs as input_ops
from im2txt.ops import model_inputs


class FeatureEvaluationError(ValueError):
  """The cached features cannot be evaluated; the message says why."""


def cache_fingerprint(file_pattern):
  """(encoder fingerprint, encoder checkpoint) shared by every shard.

  Raises:
    FeatureEvaluationError: If a shard has no readable description, or
      shards of several encoders are mixed (both named).
  """
  seen = {}
  for path in feature_inputs.match_feature_files(file_pattern):
    sidecar = feature_records.sidecar_path(path)
    try:
      info = feature_records.FeatureShardInfo.from_json_file(sidecar)
    except ValueError as e:
      raise FeatureEvaluationError(str(e))
    seen.setdefault(info.encoder_fingerprint, (path, info.encoder_checkpoint))
  if len(seen) > 1:
    raise FeatureEvaluationError(
        "%s mixes the features of several encoders (%s): make them all "
        "with one cache_features run." % (file_pattern, "; ".join(
            "%s from %s" % v for v in seen.values())))
  fingerprint, (_, checkpoint) = seen.popitem()
  return fingerprint, checkpoint


def record_pairs(file_pattern, count):
  """The first `count` (image_id, caption ids) of a split's records in the
  eval queue's order (files as matched, records in order, wrapping)."""
  files = input_ops.match_input_files(file_pattern)
  pairs = []
  while len(pairs) < count:
    before = len(pairs)
    for path in files:
      for record in records.read_sequence_examples(path):
        pairs.append((record["image_id"], list(record["caption_ids"])))
        if len(pairs) == count:
          return pairs
    if len(pairs) == before:
      raise FeatureEvaluationError("%s holds no records" % file_pattern)
  return pairs


def padded_batch(captions):
  """(input_seqs, target_seqs, input_mask) of captions, as the eval
  queue's dynamic padding makes them (zeros after each caption)."""
  length = max(len(c) for c in captions) - 1
  inputs = np.zeros((len(captions), length), np.int64)
  targets = np.zeros((len(captions), length), np.int64)
  mask = np.zeros((len(captions), length), np.int32)
  for i, caption in enumerate(captions):
    n = len(caption) - 1
    inputs[i, :n] = caption[:-1]
    targets[i, :n] = caption[1:]
    mask[i, :n] = 1
  return inputs, targets, mask


class FeaturePerplexity(object):
  """The eval-mode model fed cached features; one evaluate() per
  checkpoint."""

  def __init__(self, model_config, features_file_pattern, num_eval_examples,
               records_file_pattern="", session_config=None):
    self.fingerprint, self.encoder_checkpoint = cache_fingerprint(
        features_file_pattern)
    try:
      items, cache_pairs = feature_captioner.read_split(features_file_pattern)
    except feature_captioner.FeatureCaptioningError as e:
      raise FeatureEvaluationError(str(e))
    features = {image_id: crop for image_id, crop, _ in items}
    batch_size = model_config.batch_size
    num_batches = int(math.ceil(num_eval_examples / batch_size))
    count = (num_batches + 1) * batch_size  # The first: the summaries'.
    if records_file_pattern:
      pairs = record_pairs(records_file_pattern, count)
    else:
      if not cache_pairs:
        raise FeatureEvaluationError("%s holds no captions"
                                     % features_file_pattern)
      pairs = [cache_pairs[i % len(cache_pairs)] for i in range(count)]
    missing = sorted(set(i for i, _ in pairs) - set(features))
    if missing:
      raise FeatureEvaluationError(
          "%d images of %s have no features in %s (e.g. image_id %s): the "
          "cache is of another split." % (len(missing), records_file_pattern,
                                          features_file_pattern, missing[:5]))
    self.pairs = pairs  # (image_id, caption ids), the summaries' first.
    self.batches = [
        (np.stack([features[i] for i, _ in pairs[k:k + batch_size]]),
         padded_batch([c for _, c in pairs[k:k + batch_size]]))
        for k in range(0, count, batch_size)]
    self.session_config = session_config

    self.graph = tf.Graph()
    with self.graph.as_default():
      self._features = tf.placeholder(
          tf.float32, [None, image_embedding.OUTPUT_SIZE], name="features")
      self._inputs = tf.placeholder(tf.int64, [None, None], name="inputs")
      self._targets = tf.placeholder(tf.int64, [None, None], name="targets")
      self._mask = tf.placeholder(tf.int32, [None, None], name="mask")
      self.model = show_and_tell_model.ShowAndTellModel(
          model_config, mode="eval", input_batch=model_inputs.InputBatch(
              None, self._features, self._inputs, self._targets,
              self._mask))
      self.model.build()
      self.saver = tf.train.Saver()
      self.summary_op = tf.summary.merge_all()
    self.graph.finalize()

  def _feed(self, batch):
    features, (inputs, targets, mask) = batch
    return {self._features: features, self._inputs: inputs,
            self._targets: targets, self._mask: mask}

  def evaluate(self, checkpoint_path, global_step, summary_writer):
    """Writes the checkpoint's perplexity (and the model's summaries of the
    first batch) at global_step; returns the perplexity.

    Raises:
      checkpoints.CheckpointFault: If the checkpoint vanished or is corrupt.
    """
    with tf.Session(graph=self.graph, config=self.session_config) as sess:
      checkpoints.restore(self.saver, sess, checkpoint_path)
      if self.summary_op is not None:
        summary_writer.add_summary(
            sess.run(self.summary_op, self._feed(self.batches[0])),
            global_step)
      start = time.time()
      sums = perplexity.Sums()
      for batch in self.batches[1:]:
        sums.add(*sess.run([self.model.target_cross_entropy_losses,
                            self.model.target_cross_entropy_loss_weights],
                           self._feed(batch)))
    tf.logging.info("Perplexity of global step %d from cached features "
                    "(%d batches).", global_step, len(self.batches) - 1)
    return perplexity.write(summary_writer, global_step, sums,
                            time.time() - start)
