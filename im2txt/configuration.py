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
"""Image-to-text model and training configurations.

``ModelConfig`` and ``TrainingConfig`` hold every hyperparameter of the
model; the command-line binaries copy their few flags into them and nothing
else reads flags. Defaults are those of the original im2txt.

The resolved configurations of a training run are written as JSON beside the
checkpoints (``model_config.json`` and ``training_config.json`` in
``train_dir``). A later run in the same directory compares the shape-defining
fields with the saved ones and refuses to start on a mismatch, naming the
fields, instead of failing deep inside a checkpoint restore.
"""

import json

from im2txt.common import file_io
from im2txt.data import schema

# Names of the JSON files written beside the checkpoints.
MODEL_CONFIG_FILENAME = "model_config.json"
TRAINING_CONFIG_FILENAME = "training_config.json"

# ModelConfig fields that decide variable shapes: a checkpoint trained with
# one value cannot be restored into a graph built with another.
SHAPE_FIELDS = (
    "vocab_size",
    "embedding_size",
    "num_lstm_units",
    "image_height",
    "image_width",
)


class ConfigMismatchError(ValueError):
  """A saved configuration disagrees with the one a run was started with."""


class _ConfigBase(object):
  """Dictionary and JSON conversion shared by the two configurations."""

  def to_dict(self):
    """Returns the configuration as a plain dictionary (a copy)."""
    return dict(self.__dict__)

  @classmethod
  def from_dict(cls, values):
    """Builds a configuration from defaults overridden by `values`.

    Args:
      values: A dict of attribute name to value. Unknown names are an error
        so that a typo in a saved or hand-written file is not silently
        ignored.

    Returns:
      A new configuration object.

    Raises:
      ValueError: If `values` names an attribute the class does not have.
    """
    config = cls()
    unknown = sorted(set(values) - set(config.__dict__))
    if unknown:
      raise ValueError("Unknown %s fields: %s" %
                       (cls.__name__, ", ".join(unknown)))
    for key, value in values.items():
      setattr(config, key, value)
    return config

  def to_json_string(self):
    """Serializes the configuration as indented, key-sorted JSON."""
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

  @classmethod
  def from_json_file(cls, path):
    """Reads a configuration written by `to_json_string`."""
    try:
      text = file_io.read_text(path)
    except OSError as e:
      raise ValueError("%s: cannot read the configuration (%s)" % (path, e))
    try:
      values = json.loads(text)
    except ValueError as e:
      raise ValueError("%s is not valid JSON: %s" % (path, e))
    if not isinstance(values, dict):
      raise ValueError("%s: expected a JSON object of %s fields"
                       % (path, cls.__name__))
    try:
      return cls.from_dict(values)
    except ValueError as e:
      raise ValueError("%s: %s" % (path, e))

  def __eq__(self, other):
    return type(self) is type(other) and self.__dict__ == other.__dict__

  def __repr__(self):
    return "%s(%s)" % (type(self).__name__, self.to_dict())


class ModelConfig(_ConfigBase):
  """Wrapper class for model hyperparameters."""

  def __init__(self):
    """Sets the default model hyperparameters."""
    # File pattern of sharded TFRecord files containing SequenceExample
    # protos; a comma-separated list of patterns is allowed. Must be set for
    # training and evaluation.
    self.input_file_pattern = None

    # Image format ("jpeg" or "png").
    self.image_format = "jpeg"

    # Approximate number of values per input shard. Used to ensure sufficient
    # mixing between shards in training.
    self.values_per_input_shard = 2300
    # Minimum number of shards to keep in the input queue.
    self.input_queue_capacity_factor = 2
    # Number of threads for prefetching SequenceExample protos.
    self.num_input_reader_threads = 1

    # Name of the SequenceExample context feature containing image data.
    self.image_feature_name = schema.IMAGE_DATA_KEY
    # Name of the SequenceExample feature list containing integer captions.
    self.caption_feature_name = schema.CAPTION_IDS_KEY

    # Number of unique words in the vocab (plus 1, for <UNK>). The default
    # value is larger than the expected actual vocab size (about 11520 on
    # MSCOCO) to allow for differences between tokenizer versions used in
    # preprocessing. There is no harm in using a value greater than the
    # actual vocab size, but using a value less than the actual vocab size
    # will result in an error.
    self.vocab_size = 12000

    # Number of threads for image preprocessing. Should be a multiple of 2.
    self.num_preprocess_threads = 4

    # Batch size (image-caption pairs per training step).
    self.batch_size = 32

    # File containing an Inception v3 checkpoint to initialize the variables
    # of the Inception model. Must be provided when starting training for the
    # first time; an empty value starts the encoder from random weights.
    self.inception_checkpoint_file = None

    # Dimensions of Inception v3 input images, in pixels.
    self.image_height = 299
    self.image_width = 299

    # Images are resized to this size (bilinear, aspect ratio not kept)
    # before the crop to image_height x image_width. The original hard-codes
    # 346 x 346 in its preprocessing; configs with small images (the demo,
    # tests) need a matching smaller value.
    self.resize_height = 346
    self.resize_width = 346

    # Scale used to initialize model variables: uniform(-scale, scale).
    self.initializer_scale = 0.08

    # LSTM input and output dimensionality, respectively.
    self.embedding_size = 512
    self.num_lstm_units = 512

    # If < 1.0, the dropout keep probability applied to LSTM variables
    # (input and output of the cell, training mode only).
    self.lstm_dropout_keep_prob = 0.7

    # How the training captions were cut into words (im2txt/data/
    # tokenizers.py): train copies them from the builder's manifest beside
    # the records, and evaluation scores captions the same way.
    self.caption_tokenizer = "nltk"
    self.caption_lowercase = True
    self.caption_normalization = "NFC"


class TrainingConfig(_ConfigBase):
  """Wrapper class for training hyperparameters."""

  def __init__(self):
    """Sets the default training hyperparameters."""
    # Number of examples per epoch of training data (MSCOCO train split;
    # 586,368 pairs less the 5 captions of one corrupt image).
    self.num_examples_per_epoch = 586363

    # Optimizer for training the model (a name understood by
    # tf_slim.optimize_loss; "SGD" is plain gradient descent).
    self.optimizer = "SGD"

    # Learning rate for the initial phase of training.
    self.initial_learning_rate = 2.0
    # Staircase decay factor; 0 disables decay.
    self.learning_rate_decay_factor = 0.5
    # Epochs between learning-rate decays.
    self.num_epochs_per_decay = 8.0

    # Learning rate when fine tuning the Inception v3 parameters (constant).
    self.train_inception_learning_rate = 0.0005

    # If not None, clip gradients to this global norm.
    self.clip_gradients = 5.0

    # How many model checkpoints to keep.
    self.max_checkpoints_to_keep = 5

    # Scheduled sampling (train --scheduled_sampling; off by default): the
    # probability of feeding the ground-truth previous word decays from 1
    # as "inverse_sigmoid" k / (k + exp(i / k)), "linear" 1 - slope * i or
    # "exponential" base ** i, with i = max(0, global_step - start_step),
    # and never below the floor (see im2txt/ops/scheduled_sampling.py).
    self.scheduled_sampling_decay = "inverse_sigmoid"
    self.scheduled_sampling_k = 45000.0  # p = 0.5 near i = 480,000
    self.scheduled_sampling_linear_slope = 1e-6
    self.scheduled_sampling_exponential_base = 0.999999
    self.scheduled_sampling_min_truth_probability = 0.75
    self.scheduled_sampling_start_step = 0

    # Self-critical training (train --self_critical, the encoder frozen; off
    # by default): a constant learning rate of the same optimizer, and the
    # words decoded per sampled or greedy caption, the end word included
    # (see im2txt/training/self_critical.py).
    self.self_critical_learning_rate = 0.02
    self.self_critical_max_caption_length = 20


def save_configs(train_dir, model_config, training_config=None):
  """Writes the configurations as JSON into `train_dir` (atomically).

  Args:
    train_dir: Directory holding the run's checkpoints.
    model_config: A ModelConfig.
    training_config: An optional TrainingConfig.
  """
  items = [(MODEL_CONFIG_FILENAME, model_config)]
  if training_config is not None:
    items.append((TRAINING_CONFIG_FILENAME, training_config))
  for filename, config in items:
    file_io.write_atomically(file_io.join(train_dir, filename),
                             config.to_json_string().encode("utf-8"))


def load_model_config(train_dir):
  """Returns the ModelConfig saved in `train_dir`, or None if there is none."""
  path = file_io.join(train_dir, MODEL_CONFIG_FILENAME)
  if not file_io.exists(path):
    return None
  return ModelConfig.from_json_file(path)


def check_compatible(saved, current, source):
  """Raises ConfigMismatchError if two ModelConfigs give different shapes.

  Args:
    saved: The ModelConfig saved beside existing checkpoints.
    current: The ModelConfig the run was started with.
    source: Where `saved` came from (named in the error).
  """
  diffs = [
      "%s: saved %r, now %r" %
      (name, getattr(saved, name), getattr(current, name))
      for name in SHAPE_FIELDS
      if getattr(saved, name) != getattr(current, name)
  ]
  if diffs:
    raise ConfigMismatchError(
        "The model configuration in %s does not match this run (%s). The "
        "checkpoints there cannot be restored into this model; use a new "
        "--train_dir, or the configuration the checkpoints were trained with."
        % (source, "; ".join(diffs)))
