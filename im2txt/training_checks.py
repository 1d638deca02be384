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
"""Checks run before training starts, so that bad input fails fast.

Each check raises a ValueError subclass whose message names the offending
file and says what to do, before any graph is built or step is run:

* the input pattern matches files (inputs.NoInputFilesError);
* the model configuration saved in train_dir gives the same variable shapes
  (configuration.ConfigMismatchError);
* the records' word ids fit the model's vocab_size (VocabularyMismatchError),
  checked against the word_counts.txt beside the records when there is one,
  and against the ids of a sample of records;
* the Inception v3 checkpoint holds every encoder variable with the right
  shape (CheckpointMismatchError);
* cached features were computed by the encoder that training restores, at
  the model's image size (FeatureMismatchError).
"""

import os

from im2txt import tf_compat  # noqa: F401  (TF1 behaviour)

import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from im2txt.data import schema
from im2txt.ops import feature_inputs
from im2txt.ops import inputs as input_ops

# Records read per file, and files sampled, by check_vocab_size.
_RECORDS_PER_FILE = 200
_FILES_SAMPLED = 4


class VocabularyMismatchError(ValueError):
  """The data's word ids do not fit the model's vocabulary size."""


class CheckpointMismatchError(ValueError):
  """A checkpoint lacks variables the model needs, or has other shapes."""


class FeatureMismatchError(ValueError):
  """Cached features do not belong to the encoder or model being trained."""


def _records(path):
  try:
    for serialized in tf.io.tf_record_iterator(path):
      yield serialized
  except tf.errors.DataLossError as e:
    raise VocabularyMismatchError("%s: not a TFRecord file, or corrupted (%s)"
                                  % (path, e.message))


def _record_caption_ids(serialized, features):
  if features:
    return [i for c in feature_records.parse_example_proto(serialized)[
        "captions"] for i in c]
  return schema.parse_sequence_example_proto(serialized)["caption_ids"]


def check_vocab_size(file_pattern, vocab_size, features=False):
  """Checks that the word ids of the input data fit in `vocab_size`.

  Args:
    file_pattern: Comma-separated TFRecord file patterns.
    vocab_size: ModelConfig.vocab_size.
    features: Whether the files are cached-feature shards.

  Returns:
    The largest word id seen in the sampled records.

  Raises:
    input_ops.NoInputFilesError: If the pattern matches nothing.
    VocabularyMismatchError: If a word_counts.txt beside the data, or a
      sampled record, needs a larger vocabulary.
  """
  if features:
    files = feature_inputs.match_feature_files(file_pattern)
  else:
    files = input_ops.match_input_files(file_pattern)
  vocab_file = os.path.join(os.path.dirname(files[0]), "word_counts.txt")
  if tf.gfile.Exists(vocab_file):
    with tf.gfile.GFile(vocab_file, "r") as f:
      num_words = sum(1 for line in f if line.strip())
    # The reader appends <UNK>, whose id is the number of lines.
    if num_words + 1 > vocab_size:
      raise VocabularyMismatchError(
          "%s lists %d words (%d ids with <UNK>) but the model's vocab_size "
          "is %d. Set vocab_size to at least %d in the model config."
          % (vocab_file, num_words, num_words + 1, vocab_size, num_words + 1))
  max_id = -1
  for path in files[:_FILES_SAMPLED]:
    for i, serialized in enumerate(_records(path)):
      if i >= _RECORDS_PER_FILE:
        break
      try:
        ids = _record_caption_ids(serialized, features)
      except ValueError as e:
        raise VocabularyMismatchError("%s (record %d): not a %s record (%s)" % (
            path, i, "feature" if features else "caption", e))
      if ids and max(ids) >= vocab_size:
        raise VocabularyMismatchError(
            "%s (record %d) has word id %d, outside the model's vocab_size %d. "
            "The records were built with a larger vocabulary; set vocab_size "
            "to at least %d." % (path, i, max(ids), vocab_size, max(ids) + 1))
      max_id = max([max_id] + list(ids))
  return max_id


def check_checkpoint_has_variables(checkpoint_path, variables):
  """Checks that a checkpoint holds every variable with the right shape.

  Args:
    checkpoint_path: A checkpoint prefix (e.g. /ckpt/inception_v3.ckpt).
    variables: The graph variables that will be restored from it.

  Raises:
    CheckpointMismatchError: If the checkpoint cannot be read, or misses a
      variable, or stores one with another shape.
  """
  try:
    reader = tf.train.load_checkpoint(checkpoint_path)
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
    raise CheckpointMismatchError(
        "Cannot read checkpoint %s: %s. Pass the checkpoint prefix (for "
        "example inception_v3.ckpt), not one of its .index/.data files."
        % (checkpoint_path, str(e).splitlines()[0]))
  shapes = reader.get_variable_to_shape_map()
  missing, wrong = [], []
  for var in variables:
    name = var.op.name
    if name not in shapes:
      missing.append(name)
    elif list(shapes[name]) != var.shape.as_list():
      wrong.append("%s: checkpoint %s, model %s"
                   % (name, shapes[name], var.shape.as_list()))
  if missing or wrong:
    parts = []
    if missing:
      parts.append("%d variables missing (e.g. %s)"
                   % (len(missing), ", ".join(missing[:3])))
    if wrong:
      parts.append("%d with other shapes (e.g. %s)"
                   % (len(wrong), "; ".join(wrong[:3])))
    raise CheckpointMismatchError(
        "Checkpoint %s does not match the model: %s."
        % (checkpoint_path, " and ".join(parts)))


def check_features_match_encoder(file_pattern, encoder_checkpoint,
                                 model_config):
  """Checks feature shards against the encoder training will save.

  Args:
    file_pattern: Pattern of the feature shards.
    encoder_checkpoint: The checkpoint training restores the encoder from
      (the latest in train_dir, or the Inception checkpoint at step 0).
    model_config: The ModelConfig being trained.

  Returns:
    The number of shards checked.

  Raises:
    input_ops.NoInputFilesError: If the pattern matches nothing.
    FeatureMismatchError: If a shard has no description, was made by another
      encoder or at another image size.
  """
  files = feature_inputs.match_feature_files(file_pattern)
  fingerprint = feature_records.encoder_fingerprint(encoder_checkpoint)
  for path in files:
    sidecar = feature_records.sidecar_path(path)
    if not tf.gfile.Exists(sidecar):
      raise FeatureMismatchError(
          "%s has no description %s: is it a feature shard written by "
          "cache_features (and complete)?" % (path, sidecar))
    try:
      info = feature_records.FeatureShardInfo.from_json_file(sidecar)
    except ValueError as e:
      raise FeatureMismatchError(str(e))
    if info.encoder_fingerprint != fingerprint:
      raise FeatureMismatchError(
          "%s was computed by the encoder of %s, not by the encoder in %s "
          "that training would save with the new weights. Make the features "
          "with cache_features from %s, or train in a directory that starts "
          "from %s." % (path, info.encoder_checkpoint, encoder_checkpoint,
                        encoder_checkpoint, info.encoder_checkpoint))
    sizes = (info.image_height, info.image_width, info.resize_height,
             info.resize_width)
    wanted = (model_config.image_height, model_config.image_width,
              model_config.resize_height, model_config.resize_width)
    if sizes != wanted:
      raise FeatureMismatchError(
          "%s holds features of %dx%d crops of %dx%d images, but the model "
          "config has %dx%d crops of %dx%d images." % ((path,) + sizes +
                                                       wanted))
  return len(files)
