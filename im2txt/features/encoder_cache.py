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
"""Caching the frozen encoder's outputs of a split: the library of
cache_features (see im2txt/cache_features.py for what and why).

* ``Encoder``: the frozen Inception v3 as a batch function, K crops each;
* ``cache_features``: writes the feature shards of a split, resumably;
* ``scan_split`` / ``read_images`` / ``encode_shard``: its steps;
* ``expected_info`` / ``why_stale``: the shard descriptions that decide
  whether a shard is kept on a rerun.
"""

import collections
import hashlib
import os
import time

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.data import build_manifest
from im2txt.data import feature_records
from im2txt.data import records
from im2txt.data import schema
from im2txt.ops import image_embedding
from im2txt.ops import image_processing
from im2txt.ops import inputs as input_ops

SHARD_PREFIX = "features-"


class FeatureCacheError(ValueError):
  """The cache cannot be made; the message names the file and problem."""


class Encoder(object):
  """The frozen encoder as a batch function: encoded images -> features."""

  def __init__(self, model_config, checkpoint, num_crops,
               encoder_dtype="float32"):
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.encoded = tf.placeholder(tf.string, [None], name="encoded_images")
      crops = []
      for k in range(num_crops):
        # Crop 0: evaluation preprocessing. Others: training distortions in
        # both colour orders. (A non-zero thread id adds no image summaries.)
        def preprocess(encoded, k=k):
          return image_processing.process_image(
              encoded, is_training=k > 0, height=model_config.image_height,
              width=model_config.image_width,
              resize_height=model_config.resize_height,
              resize_width=model_config.resize_width,
              thread_id=k if k else 1, image_format=model_config.image_format)
        crops.append(tf.map_fn(preprocess, self.encoded, dtype=tf.float32,
                               back_prop=False))
      # [K * batch, H, W, 3], crop-major.
      images = tf.concat(crops, axis=0)
      self.features = image_embedding.inception_v3(
          images, trainable=False, is_training=False, add_summaries=False,
          compute_dtype=encoder_dtype)
      saver = tf.train.Saver(tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES,
                                               scope=schema.ENCODER_SCOPE))
    self.graph.finalize()
    self.num_crops = num_crops
    self.sess = tf.Session(graph=self.graph)
    checkpoints.restore(saver, self.sess, checkpoint)

  def __call__(self, encoded_images):
    """Returns float32 [len(encoded_images), num_crops, 2048]."""
    features = self.sess.run(self.features, {self.encoded: encoded_images})
    n = len(encoded_images)
    return features.reshape(self.num_crops, n, -1).transpose(1, 0, 2)

  def close(self):
    self.sess.close()


def _records(path):
  try:
    yield from records.read_sequence_examples(path)
  except records.RecordReadError as e:
    raise FeatureCacheError("unreadable records: %s" % e)


def scan_split(sources):
  """Returns (captions, home): image_id -> all its caption ids in the split,
  and image_id -> the source file whose feature shard gets the image."""
  captions = collections.OrderedDict()
  candidates = collections.defaultdict(list)
  for path in sources:
    for record in _records(path):
      captions.setdefault(record["image_id"], []).append(
          record["caption_ids"])
      if path not in candidates[record["image_id"]]:
        candidates[record["image_id"]].append(path)
  home = {i: paths[i % len(paths)] for i, paths in candidates.items()}
  return captions, home


def read_images(path, captions, home):
  """Returns OrderedDict image_id -> (image, [captions]) of the images whose
  home is `path`, with all their captions."""
  images = collections.OrderedDict()
  for record in _records(path):
    image_id = record["image_id"]
    if home[image_id] == path and image_id not in images:
      images[image_id] = (record["image"], captions[image_id])
  return images


def encode_shard(encoder, images, batch_size, source):
  """Returns ([(image_id, features, captions)], [skipped image ids])."""
  items = list(images.items())
  out, skipped = [], []
  for start in range(0, len(items), batch_size):
    batch = items[start:start + batch_size]
    try:
      features = encoder([image for _, (image, _) in batch])
    except tf.errors.InvalidArgumentError:
      # One bad image fails the batch: encode one by one to find it.
      features = []
      for image_id, (image, _) in batch:
        try:
          features.append(encoder([image])[0])
        except tf.errors.InvalidArgumentError:
          tf.logging.error("%s: image %d cannot be decoded; skipped",
                           source, image_id)
          skipped.append(image_id)
          features.append(None)
    for (image_id, (_, captions)), f in zip(batch, features):
      if f is not None:
        out.append((image_id, f, captions))
  return out, skipped


def split_digest(sources):
  """SHA-256 over the split's record files (names and contents).

  A feature shard holds captions gathered from every file of the split, so
  a change of any of them (a rebuilt split) makes every shard stale.
  """
  digest = hashlib.sha256()
  for path in sorted(sources):
    digest.update(os.path.basename(path).encode("utf-8") + b"\0")
    with tf.io.gfile.GFile(path, "rb") as f:
      while True:
        block = f.read(1 << 22)
        if not block:
          break
        digest.update(block)
  return digest.hexdigest()


def expected_info(source, sources, model_config, num_crops,
                  encoder_checkpoint, fingerprint, encoder_dtype="float32",
                  records_sha256=None):
  """The description a complete, current shard of `source` has (with the
  tokenizer the builder recorded beside the records, for train)."""
  tokenizer = build_manifest.recorded_tokenizer(source)
  return feature_records.FeatureShardInfo(
      caption_tokenizer=tokenizer and tokenizer.description(),
      source_file=os.path.basename(source),
      split_files=sorted(os.path.basename(s) for s in sources),
      split_sha256=records_sha256,
      num_crops=num_crops,
      feature_size=image_embedding.OUTPUT_SIZE,
      image_height=model_config.image_height,
      image_width=model_config.image_width,
      resize_height=model_config.resize_height,
      resize_width=model_config.resize_width,
      encoder_checkpoint=encoder_checkpoint, encoder_fingerprint=fingerprint,
      encoder_dtype=encoder_dtype)


_IDENTITY_FIELDS = ("source_file", "split_files", "split_sha256", "num_crops",
                    "feature_size", "image_height", "image_width",
                    "resize_height", "resize_width", "encoder_fingerprint",
                    "encoder_dtype")


def why_stale(shard_path, expected):
  """None if a complete shard matching `expected` exists, else the reason."""
  sidecar = feature_records.sidecar_path(shard_path)
  if not (file_io.exists(shard_path) and file_io.exists(sidecar)):
    return "not written yet"
  try:
    info = feature_records.FeatureShardInfo.from_json_file(sidecar)
  except ValueError as e:
    return str(e)
  changed = [f for f in _IDENTITY_FIELDS
             if getattr(info, f) != getattr(expected, f)]
  if changed:
    return "made from other inputs or settings: %s" % ", ".join(changed)
  return None



def cache_features(input_file_pattern, output_dir, model_config, checkpoint,
                   num_crops=1, batch_size=32, encoder_dtype="float32"):
  """Writes the feature shards of a split; returns a summary dict.

  Raises:
    FeatureCacheError: On unusable input (the message names the file).
  """
  if num_crops < 1:
    raise FeatureCacheError("--num_crops must be at least 1, got %d"
                            % num_crops)
  try:
    image_embedding.check_compute_dtype(encoder_dtype, trainable=False)
  except ValueError as e:
    raise FeatureCacheError(str(e))
  sources = sorted(input_ops.match_input_files(input_file_pattern))
  try:
    fingerprint = feature_records.encoder_fingerprint(checkpoint)
  except (ValueError, tf.errors.OpError) as e:
    raise FeatureCacheError("%s: cannot read the encoder (%s)"
                            % (checkpoint, getattr(e, "message", e)))
  file_io.makedirs(output_dir)
  tf.logging.info("Hashing the %d record files of the split.", len(sources))
  records_sha256 = split_digest(sources)
  summary = {"shards_written": 0, "shards_kept": 0, "shards_rewritten": 0,
             "images": 0, "captions": 0, "skipped_images": 0}
  encoder = None
  split_captions = home = None
  start = time.time()
  try:
    for source in sources:
      shard = file_io.join(output_dir,
                           SHARD_PREFIX + os.path.basename(source))
      expected = expected_info(source, sources, model_config, num_crops,
                               checkpoint, fingerprint, encoder_dtype,
                               records_sha256)
      stale = why_stale(shard, expected)
      if stale is None:
        tf.logging.info("%s is complete; kept.", shard)
        summary["shards_kept"] += 1
        continue
      if stale != "not written yet":
        tf.logging.info("%s is rewritten: %s.", shard, stale)
        summary["shards_rewritten"] += 1
      if encoder is None:
        split_captions, home = scan_split(sources)
        tf.logging.info("%d images with %d captions in %d files", len(home),
                        sum(len(c) for c in split_captions.values()),
                        len(sources))
        encoder = Encoder(model_config, checkpoint, num_crops, encoder_dtype)
      images = read_images(source, split_captions, home)
      encoded, skipped = encode_shard(encoder, images, batch_size, source)
      tmp = "%s.tmp-%d" % (shard, os.getpid())
      num_captions = 0
      with tf.io.TFRecordWriter(tmp) as writer:
        for image_id, features, captions in encoded:
          writer.write(feature_records.make_example(
              image_id, features, captions).SerializeToString(
                  deterministic=True))
          num_captions += len(captions)
      file_io.rename(tmp, shard)
      expected.num_images = len(encoded)
      expected.num_captions = num_captions
      file_io.write_atomically(feature_records.sidecar_path(shard),
                               expected.to_json().encode("utf-8"))
      summary["shards_written"] += 1
      summary["images"] += len(encoded)
      summary["captions"] += num_captions
      summary["skipped_images"] += len(skipped)
      elapsed = time.time() - start
      tf.logging.info("Wrote %s: %d images, %d captions (%.1f images/s "
                      "overall)", shard, len(encoded), num_captions,
                      summary["images"] / max(elapsed, 1e-9))
  finally:
    if encoder is not None:
      encoder.close()
  return summary
