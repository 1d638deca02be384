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
  shape (checkpoints.check_has_variables, CheckpointMismatchError);
* cached features were computed by the encoder that training restores, at
  the model's image size (FeatureMismatchError);
* the records were cut into words as the model config says
  (adopt_data_tokenizer, tokenizers.TokenizerMismatchError).
"""

from im2txt import configuration
from im2txt.common import file_io
from im2txt.data import feature_records
from im2txt.data import build_manifest
from im2txt.data import records
from im2txt.data import schema
from im2txt.data import tokenizers
from im2txt.inference_utils import vocabulary
from im2txt.ops import feature_inputs
from im2txt.ops import inputs as input_ops

# Records read per file, and files sampled, by check_vocab_size.
_RECORDS_PER_FILE = 200
_FILES_SAMPLED = 4


# The data's word ids do not fit the model's vocabulary size (one error type
# for train's check and for captioning).
VocabularyMismatchError = vocabulary.VocabularyMismatchError


class FeatureMismatchError(ValueError):
  """Cached features do not belong to the encoder or model being trained."""


# The builder's vocabulary file, beside the records it wrote.
VOCAB_FILENAME = "word_counts.txt"


def _record_caption_ids(serialized, features):
  if features:
    return [i for c in feature_records.parse_example_proto(serialized)[
        "captions"] for i in c]
  return schema.parse_sequence_example_proto(serialized)["caption_ids"]


def vocab_file_beside(file_pattern, features=False):
  """The word_counts.txt in the folder of the first file matching
  `file_pattern` (where the builder writes it), or "" if there is none.

  Raises:
    input_ops.NoInputFilesError: If the pattern matches nothing.
  """
  return _vocab_file_beside(_match(file_pattern, features))


def _match(file_pattern, features):
  if features:
    return feature_inputs.match_feature_files(file_pattern)
  return input_ops.match_input_files(file_pattern)


def _vocab_file_beside(files):
  vocab_file = file_io.join(file_io.dirname(files[0]), VOCAB_FILENAME)
  return vocab_file if file_io.exists(vocab_file) else ""


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
  files = _match(file_pattern, features)
  vocab_file = _vocab_file_beside(files)
  if vocab_file:
    num_words = sum(1 for line in file_io.read_text(vocab_file).splitlines()
                    if line.strip())
    # The reader appends <UNK>, whose id is the number of lines.
    vocabulary.check_fits_model(
        vocab_file, num_words + 1, vocab_size, "the model config",
        "Set vocab_size to the vocabulary's %d ids (or a little more) in the "
        "model config." % (num_words + 1))
  max_id = -1
  for path in sorted(files)[:_FILES_SAMPLED]:
    try:
      for i, serialized in enumerate(records.read_records(path)):
        if i >= _RECORDS_PER_FILE:
          break
        try:
          ids = _record_caption_ids(serialized, features)
        except ValueError as e:
          raise VocabularyMismatchError(
              "%s (record %d): not a %s record (%s)"
              % (path, i, "feature" if features else "caption", e))
        check_ids_fit(ids, vocab_size, path, i)
        max_id = max([max_id] + list(ids))
    except records.RecordReadError as e:
      raise VocabularyMismatchError(str(e))
  return max_id


def check_ids_fit(ids, vocab_size, path, index):
  """Raises VocabularyMismatchError if a record's ids exceed vocab_size."""
  if ids and max(ids) >= vocab_size:
    raise VocabularyMismatchError(
        "%s (record %d) has word id %d, outside the model's vocab_size %d. "
        "The records were built with a larger vocabulary; set vocab_size "
        "to at least %d." % (path, index, max(ids), vocab_size, max(ids) + 1))


def adopt_data_tokenizer(model_config, file_pattern):
  """Gives model_config the tokenizer the builder recorded beside the
  training records (so that model_config.json carries it to evaluation and
  captioning); returns it, or None when the records have no manifest.

  Raises:
    input_ops.NoInputFilesError: If the pattern matches nothing.
    tokenizers.TokenizerMismatchError: If the model config names another
      tokenizer than the original's and the records were cut by a third.
  """
  files = input_ops.match_input_files(file_pattern)
  return _adopt(model_config, build_manifest.recorded_tokenizer(files[0]),
                "the records %s" % file_pattern)


def _adopt(model_config, recorded, data_source):
  """Sets model_config's tokenizer fields to `recorded` (None: nothing),
  unless the config names another tokenizer than the original's."""
  if recorded is None:
    return None
  configured = tokenizers.from_description(model_config.to_dict(),
                                           "The model config")
  if not configured.is_default():
    tokenizers.check_same(configured, "The model config", recorded,
                          data_source)
  for key, value in recorded.description().items():
    setattr(model_config, key, value)
  return recorded


def adopt_features_tokenizer(model_config, file_pattern, train_dir):
  """Gives model_config the tokenizer cache_features recorded in the
  feature shards' descriptions (from the builder's manifest), else the one
  of the model config saved in train_dir, if any; returns it or None.

  Raises:
    tokenizers.TokenizerMismatchError: As adopt_data_tokenizer.
  """
  files = feature_inputs.match_feature_files(file_pattern)
  sidecar = feature_records.sidecar_path(files[0])
  recorded = None
  if file_io.exists(sidecar):
    description = feature_records.FeatureShardInfo.from_json_file(
        sidecar).caption_tokenizer
    if description:
      recorded = tokenizers.from_description(description, sidecar)
  if recorded is None:
    saved = configuration.load_model_config(train_dir)
    if saved is not None:
      recorded = tokenizers.from_description(saved.to_dict(), train_dir)
  return _adopt(model_config, recorded, "the features %s" % file_pattern)


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
  problem = feature_records.first_shard_problem(
      files, encoder_checkpoint, model_config, lambda info: (
          "Training would save that encoder beside the new weights: make "
          "the features with cache_features from %s, or train in a "
          "directory that starts from %s." % (encoder_checkpoint,
                                              info.encoder_checkpoint)))
  if problem:
    raise FeatureMismatchError(problem)
  return len(files)
