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
"""Self-critical training, the optional third phase (train --self_critical).

Rennie et al., "Self-critical Sequence Training for Image Captioning",
CVPR 2017. For each image of the batch the decoder samples a caption from
its softmax and decodes a greedy one (ops/sampled_decoding.py); the reward of
the sample is its CIDEr-D against all of the image's training references
minus the greedy caption's (the baseline), and the loss is the policy
gradient -advantage * log p(sample), averaged over the sampled words.

* ``load_references``: image id -> reference captions of the training
  records, cached in train_dir (reading every record of MSCOCO's training
  split takes minutes; a restart reads the cache);
* ``CaptionRewards``: word ids -> CIDEr-D rewards, in Python (cider_d.py),
  with document frequencies from the training references;
* ``build_loss``: the decoding, rewards, loss and TensorBoard summaries on
  a built training-mode ShowAndTellModel.

The decoding runs the model's own decoder (model.decoder) without
dropout, so that the greedy baseline is deterministic; the encoder stays
frozen.
"""

import collections
import json
import os

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import numpy as np
import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_metrics
from im2txt.evaluation import cider_d
from im2txt.common import file_io
from im2txt.ops import inputs as input_ops
from im2txt.ops import sampled_decoding

# The references cache in train_dir.
REFERENCES_FILENAME = "self_critical_references.json"

# Summary tags (TensorBoard).
SAMPLE_CIDER_TAG = "self_critical/sample_cider"  # the mean reward
GREEDY_CIDER_TAG = "self_critical/greedy_cider"
ADVANTAGE_TAG = "self_critical/advantage"
LOSS_TAG = "self_critical/loss"


class ReferencesError(ValueError):
  """The training references are missing or do not cover a batch."""


def _fingerprint(files):
  return [[os.path.basename(f), file_io.getsize(f)] for f in files]


def load_references(file_pattern, train_dir=""):
  """image id -> the reference captions (tokens joined by spaces) of the
  training records matching `file_pattern`.

  Cached in train_dir/self_critical_references.json with the records'
  names and sizes; a cache of other records is rebuilt.

  Raises:
    ReferencesError: If no records match, a record cannot be read (named),
      or the records hold no captions.
  """
  try:
    files = input_ops.match_input_files(file_pattern)
  except input_ops.NoInputFilesError as e:
    raise ReferencesError("Self-critical training needs the training "
                          "records for its references: %s" % e)
  fingerprint = _fingerprint(files)
  cache = file_io.join(train_dir, REFERENCES_FILENAME) if train_dir else ""
  if cache and file_io.exists(cache):
    try:
      saved = json.loads(file_io.read_text(cache))
      if saved.get("records") == fingerprint:
        tf.logging.info("Read the references of %d images from %s",
                        len(saved["references"]), cache)
        return {int(k): v for k, v in saved["references"].items()}
    except (ValueError, KeyError, AttributeError):
      pass
    tf.logging.warning("%s is unreadable or was made from other records; "
                       "reading the references again.", cache)
  tf.logging.info("Reading the reference captions of %d record files "
                  "matching %s", len(files), file_pattern)
  try:
    references = caption_metrics.references_from_records(file_pattern)
  except caption_metrics.MetricsError as e:
    raise ReferencesError(str(e))
  if not references:
    raise ReferencesError("The records matching %s hold no captions."
                          % file_pattern)
  tf.logging.info("References: %d captions of %d images",
                  sum(len(r) for r in references.values()), len(references))
  if cache:
    file_io.write_atomically(cache, json.dumps(
        {"records": fingerprint, "references": references}))
  return references


class CaptionRewards(object):
  """Word ids -> CIDEr-D of the sampled and the greedy captions.

  Called by the graph (tf.numpy_function) with int64 image ids [B] and word ids
  [B, T] of both captions; a caption is its words up to the first end word,
  which is left out (as caption_images writes captions).
  """

  def __init__(self, references, vocab, description="the references"):
    """Args:
      references: dict image id -> list of tokenized reference captions.
      vocab: The Vocabulary of the model's word ids.
      description: Where the references came from, for errors.
    """
    self.scorer = cider_d.CiderD(references)
    self.vocab = vocab
    self.description = description

  def caption(self, ids):
    """The text of one row of word ids."""
    words = []
    for word_id in ids:
      if word_id == self.vocab.end_id:
        break
      words.append(self.vocab.id_to_word(int(word_id)))
    return " ".join(words)

  def _scores(self, image_ids, rows):
    try:
      return np.array([self.scorer.score(int(i), self.caption(r))
                       for i, r in zip(image_ids, rows)], dtype=np.float32)
    except KeyError as e:
      raise ReferencesError(
          "Image %s of a training batch has no captions in %s: the "
          "references must come from the records being trained on."
          % (e.args[0], self.description))

  def __call__(self, image_ids, sample_ids, greedy_ids):
    return (self._scores(image_ids, sample_ids),
            self._scores(image_ids, greedy_ids))


# What build_loss returns: the scalar loss and mean summaries' tensors, the
# per-image rewards [B] and the ops/self_critical.Decoded captions.
SelfCriticalLoss = collections.namedtuple(
    "SelfCriticalLoss",
    ["loss", "sample_cider", "greedy_cider", "advantage", "decoded"])


def build_loss(model, image_ids, rewards, start_id, end_id, max_length,
               seed=None, add_summaries=True):
  """Builds the self-critical loss of a built "train"-mode model.

  Args:
    model: A built ShowAndTellModel (its image_embeddings and variables).
    image_ids: int64 [B], the batch rows' image ids.
    rewards: A CaptionRewards (or any function of the same signature).
    start_id, end_id: Word ids.
    max_length: Words decoded per caption, the end word included.
    seed: Optional op seed of the samples.
    add_summaries: Whether to add the TensorBoard scalars.

  Returns:
    A SelfCriticalLoss.
  """
  decoder = model.decoder
  state = decoder.initial_state(model.image_embeddings, dropout=False)
  decoded = sampled_decoding.sample_and_greedy(
      decoder, state, start_id=start_id, end_id=end_id,
      max_length=max_length, seed=seed)
  sample_cider, greedy_cider = tf.numpy_function(
      rewards, [image_ids, decoded.sample_ids, decoded.greedy_ids],
      [tf.float32, tf.float32], name="cider_d_rewards")
  sample_cider.set_shape(image_ids.get_shape())
  greedy_cider.set_shape(image_ids.get_shape())
  advantage = sample_cider - greedy_cider
  loss = tf.identity(
      sampled_decoding.policy_gradient_loss(decoded, advantage),
      name="self_critical_loss")
  if add_summaries:
    tf.summary.scalar(SAMPLE_CIDER_TAG, tf.reduce_mean(sample_cider))
    tf.summary.scalar(GREEDY_CIDER_TAG, tf.reduce_mean(greedy_cider))
    tf.summary.scalar(ADVANTAGE_TAG, tf.reduce_mean(advantage))
    tf.summary.scalar(LOSS_TAG, loss)
  return SelfCriticalLoss(loss, sample_cider, greedy_cider, advantage,
                          decoded)
