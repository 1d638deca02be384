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
"""The cached-feature record format of phase-1 training from features.

cache_features runs the frozen Inception v3 encoder once over a split and
writes one ``tf.train.Example`` per image:

  image/image_id         int64, 1 value     MSCOCO image id
  image/features         float, K * 2048    K encoder outputs, crop after
                                            crop: crop 0 is the evaluation
                                            preprocessing (resize, central
                                            crop), crops 1..K-1 are training
                                            distortions
  image/num_crops        int64, 1 value     K
  image/caption_ids      int64, all captions' ids one after another, each
                                            with its "<S>" and "</S>" ids
  image/caption_lengths  int64, 1 per caption

Every feature shard ``<name>`` has a sidecar ``<name>.json`` (FeatureShardInfo)
saying which records shard it came from (and the split's files: an image's
captions are gathered from all of them into one record), how many images and
captions it
holds, with which preprocessing and which encoder: ``encoder_fingerprint`` is
a hash of the encoder's variable values in its checkpoint, so train can tell
whether the features were computed by the encoder it is about to save beside
the new weights. ``split_sha256`` hashes the split's record files, so that a
rebuilt split makes the shards stale (cache_features rewrites them).
``encoder_dtype`` records the encoder's arithmetic (float32, or bfloat16
from ``cache_features --encoder_dtype=bfloat16``).
"""

import hashlib
import json

import numpy as np

from im2txt.common import file_io
from im2txt.data import schema

IMAGE_ID_KEY = "image/image_id"
FEATURES_KEY = "image/features"
NUM_CROPS_KEY = "image/num_crops"
CAPTION_IDS_KEY = "image/caption_ids"
CAPTION_LENGTHS_KEY = "image/caption_lengths"

ENCODER_SCOPE = schema.ENCODER_SCOPE


def _tf():
  # Sets TF_USE_LEGACY_KERAS first.
  import im2txt  # noqa: F401  pylint: disable=unused-import
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  return tf


def make_example(image_id, features, captions):
  """Builds the Example of one image.

  Args:
    image_id: Integer image id.
    features: float array of shape [K, feature_size].
    captions: List of lists of int ids (start and end ids included).

  Returns:
    A tf.train.Example.

  Raises:
    ValueError: If there are no captions, an empty caption or no features.
  """
  tf = _tf()
  features = np.asarray(features, dtype=np.float32)
  if features.ndim != 2 or not features.size:
    raise ValueError("features must be [num_crops, size], got shape %s"
                     % (features.shape,))
  if not captions or not all(captions):
    raise ValueError("image %d: every image needs captions, and no caption "
                     "may be empty" % image_id)

  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(
        value=[int(v) for v in values]))

  return tf.train.Example(features=tf.train.Features(feature={
      IMAGE_ID_KEY: ints([image_id]),
      FEATURES_KEY: tf.train.Feature(float_list=tf.train.FloatList(
          value=features.ravel().tolist())),
      NUM_CROPS_KEY: ints([features.shape[0]]),
      CAPTION_IDS_KEY: ints([i for c in captions for i in c]),
      CAPTION_LENGTHS_KEY: ints([len(c) for c in captions]),
  }))


def parse_example_proto(serialized):
  """Parses a serialized feature record in Python, for tools and tests.

  Returns:
    A dict: "image_id" (int), "features" (float32 [K, size]), "captions"
    (list of lists of int ids).

  Raises:
    ValueError: If a key is missing or the lengths do not add up.
  """
  tf = _tf()
  feature = tf.train.Example.FromString(serialized).features.feature
  for key in (IMAGE_ID_KEY, FEATURES_KEY, NUM_CROPS_KEY, CAPTION_IDS_KEY,
              CAPTION_LENGTHS_KEY):
    if key not in feature:
      raise ValueError("feature record has no %r" % key)
  num_crops = int(feature[NUM_CROPS_KEY].int64_list.value[0])
  values = np.array(feature[FEATURES_KEY].float_list.value, dtype=np.float32)
  if num_crops < 1 or values.size % num_crops:
    raise ValueError("feature record: %s values for %s crops"
                     % (values.size, num_crops))
  ids = list(feature[CAPTION_IDS_KEY].int64_list.value)
  lengths = list(feature[CAPTION_LENGTHS_KEY].int64_list.value)
  if sum(lengths) != len(ids):
    raise ValueError("feature record: caption lengths %s do not add up to %d "
                     "ids" % (lengths, len(ids)))
  captions, start = [], 0
  for n in lengths:
    captions.append(ids[start:start + n])
    start += n
  return {"image_id": feature[IMAGE_ID_KEY].int64_list.value[0],
          "features": values.reshape(num_crops, -1),
          "captions": captions}


def encoder_fingerprint(checkpoint_path):
  """Hashes the values of a checkpoint's encoder variables.

  Optimizer slots (names with "/Momentum", "/Adam" and the like after the
  variable) are left out, so that the fingerprint only changes when the
  encoder computes something else.

  Returns:
    A hex string.

  Raises:
    ValueError: If the checkpoint has no encoder variables.
  """
  tf = _tf()
  reader = tf.train.load_checkpoint(checkpoint_path)
  shapes = reader.get_variable_to_shape_map()
  names = sorted(n for n in shapes
                 if n.startswith(ENCODER_SCOPE + "/") and _is_model_variable(n))
  if not names:
    raise ValueError("%s has no %s variables" % (checkpoint_path,
                                                 ENCODER_SCOPE))
  digest = hashlib.sha256()
  for name in names:
    digest.update(name.encode("utf-8"))
    digest.update(np.ascontiguousarray(reader.get_tensor(name)).tobytes())
  return digest.hexdigest()


def shard_problem(path, fingerprint, encoder_checkpoint, sizes,
                  other_encoder_advice):
  """Why the feature shard `path` is not the encoder outputs a reader
  needs, or None when it is.

  Args:
    path: The shard.
    fingerprint: encoder_fingerprint(encoder_checkpoint).
    encoder_checkpoint: The checkpoint whose encoder the reader runs.
    sizes: (image_height, image_width, resize_height, resize_width) of the
      reader's model config.
    other_encoder_advice: info -> what to do when the shard's encoder
      (info.encoder_checkpoint) is another (a sentence).
  """
  sidecar = sidecar_path(path)
  if not file_io.exists(sidecar):
    return ("%s has no description %s: is it a feature shard written by "
            "cache_features (and complete)?" % (path, sidecar))
  try:
    info = FeatureShardInfo.from_json_file(sidecar)
  except ValueError as e:
    return str(e)
  if info.encoder_fingerprint != fingerprint:
    return ("%s was computed by the encoder of %s, not by the encoder in %s. "
            "%s" % (path, info.encoder_checkpoint, encoder_checkpoint,
                    other_encoder_advice(info)))
  shard_sizes = (info.image_height, info.image_width, info.resize_height,
                 info.resize_width)
  if tuple(shard_sizes) != tuple(sizes):
    return ("%s holds features of %dx%d crops of %dx%d images, but the model "
            "config has %dx%d crops of %dx%d images."
            % ((path,) + tuple(shard_sizes) + tuple(sizes)))
  return None


def first_shard_problem(files, encoder_checkpoint, model_config,
                        other_encoder_advice):
  """shard_problem of the first of `files` that has one (the reader's
  encoder and image sizes: encoder_checkpoint's and model_config's), or
  None."""
  fingerprint = encoder_fingerprint(encoder_checkpoint)
  sizes = (model_config.image_height, model_config.image_width,
           model_config.resize_height, model_config.resize_width)
  for path in files:
    problem = shard_problem(path, fingerprint, encoder_checkpoint, sizes,
                            other_encoder_advice)
    if problem:
      return problem
  return None


_SLOT_SUFFIXES = ("/Momentum", "/Adam", "/Adam_1", "/RMSProp", "/RMSProp_1",
                  "/Adagrad", "/ExponentialMovingAverage")


def _is_model_variable(name):
  return not any(name.endswith(s) for s in _SLOT_SUFFIXES)


class FeatureShardInfo(object):
  """The sidecar JSON of a feature shard."""

  FIELDS = ("source_file", "split_files", "split_sha256", "num_images",
            "num_captions", "num_crops", "feature_size", "image_height",
            "image_width", "resize_height", "resize_width",
            "encoder_checkpoint", "encoder_fingerprint", "encoder_dtype",
            "caption_tokenizer")

  def __init__(self, **kwargs):
    unknown = set(kwargs) - set(self.FIELDS)
    if unknown:
      raise ValueError("Unknown feature shard fields: %s" % sorted(unknown))
    for name in self.FIELDS:
      setattr(self, name, kwargs.get(name))
    if kwargs.get("encoder_dtype") is None:
      # Descriptions written before the field existed: float32 encoders.
      self.encoder_dtype = "float32"

  def to_dict(self):
    return {name: getattr(self, name) for name in self.FIELDS}

  def to_json(self):
    return json.dumps(self.to_dict(), indent=2, sort_keys=True)

  @classmethod
  def from_json_file(cls, path):
    """Reads a sidecar; ValueError names the file if it is unreadable."""
    try:
      return cls(**json.loads(file_io.read_text(path)))
    except (OSError, ValueError, TypeError) as e:
      raise ValueError("%s: not a feature shard description (%s)" % (path, e))


def sidecar_path(shard_path):
  return shard_path + ".json"


def is_shard_file(path):
  """False for the descriptions and temporary files beside the shards."""
  return not (path.endswith(".json") or ".tmp-" in path)
