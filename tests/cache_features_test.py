"""Cached encoder features: equal to the encoder, resumable, and trainable."""

import glob
import os
import re
import shutil
import unittest

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import show_and_tell_model
from im2txt.data import feature_records
from im2txt.data import schema
from im2txt.ops import feature_inputs
from im2txt.ops import inputs
from tests import testing_utils

pytestmark = pytest.mark.slow


def _read_records(pattern):
  images, captions = {}, {}
  for path in inputs.match_input_files(pattern):
    for serialized in tf.io.tf_record_iterator(path):
      record = schema.parse_sequence_example_proto(serialized)
      images[record["image_id"]] = record["image"]
      captions.setdefault(record["image_id"], []).append(record["caption_ids"])
  return images, captions


def _inference_features(checkpoint, config, encoded_images):
  """The pooled encoder output of the inference graph, one image at a time."""
  with tf.Graph().as_default() as g:
    model = show_and_tell_model.ShowAndTellModel(config, "inference")
    model.build()
    pool = g.get_tensor_by_name("InceptionV3/logits/pool/AvgPool:0")
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, checkpoint)
      return [sess.run(pool, {show_and_tell_model.IMAGE_FEED: e}).ravel()
              for e in encoded_images]


class CacheFeaturesTest(testing_utils.TinyDataTestCase):

  # The shared train_dir: its calibrated random encoder is what we cache.
  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  def _cache(self, output_dir, *extra, check=True):
    return testing_utils.run_module("im2txt.cache_features", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--output_dir=" + output_dir,
        "--checkpoint_path=" + self.train_dir] + list(extra), check=check)

  def testFeaturesEqualTheEncoderOutputWithAllCaptions(self):
    out = os.path.join(self.root, "features_2crops")
    result = self._cache(out, "--num_crops=2", "--batch_size=5")
    cached = testing_utils.read_feature_shards(
        os.path.join(out, "features-train-*-of-00002"))
    images, captions = _read_records(self.paths["train_pattern"])
    self.assertIn("%d images, %d captions encoded" % (
        len(images), sum(len(c) for c in captions.values())), result.stdout)
    # Each image once, with every caption it has anywhere in the split.
    self.assertEqual(sorted(cached), sorted(images))
    for image_id, record in cached.items():
      self.assertEqual(sorted(record["captions"]), sorted(captions[image_id]))
      self.assertEqual(record["features"].shape, (2, 2048))
    # Crop 0 is what the inference graph computes for the image.
    ids = sorted(images)[:6]
    checkpoint = tf.train.latest_checkpoint(self.train_dir)
    expected = _inference_features(checkpoint, self.config,
                                   [images[i] for i in ids])
    for image_id, want in zip(ids, expected):
      got = cached[image_id]["features"][0]
      # Equal up to floating-point reordering: the cache encodes a batch,
      # the inference graph one image, and oneDNN picks kernels by batch
      # size and processor; this tiny random encoder amplifies the last
      # bits to about 1e-4 (measured on an AVX-512 machine).
      np.testing.assert_allclose(got, want, rtol=1e-3, atol=5e-4)
      self.assertGreater(np.corrcoef(got, want)[0, 1], 0.99999)
      # Crop 1 is a training distortion: another input, other features.
      self.assertGreater(np.abs(cached[image_id]["features"][1] - got).max(),
                         1e-3)
    info = feature_records.FeatureShardInfo.from_json_file(
        os.path.join(out, "features-train-00000-of-00002.json"))
    self.assertEqual(info.encoder_fingerprint,
                     feature_records.encoder_fingerprint(checkpoint))
    self.assertEqual((info.num_crops, info.image_height), (2, 75))

  def testResumeKeepsCompleteShardsAndRedoesMissingOnes(self):
    out = os.path.join(self.root, "features_resume")
    self._cache(out)
    shard = os.path.join(out, "features-train-00001-of-00002")
    with open(shard, "rb") as f:
      original = f.read()
    os.remove(shard)
    with open(shard + ".tmp-123", "wb") as f:
      f.write(b"left by a killed run")
    result = self._cache(out)
    self.assertIn("1 written, 1 kept", result.stdout)
    with open(shard, "rb") as f:
      self.assertEqual(f.read(), original)
    # Another crop count is another cache: nothing is kept.
    result = self._cache(out, "--num_crops=2")
    self.assertIn("2 written, 0 kept", result.stdout)

  def testPipelineBatchesAreCaptionsOfTheirImages(self):
    out = os.path.join(self.root, "features_pipeline")
    self._cache(out)
    cached = testing_utils.read_feature_shards(os.path.join(out, "features-*"))
    with tf.Graph().as_default():
      tensors = feature_inputs.feature_batches(
          os.path.join(out, "features-*"), batch_size=8, feature_size=2048,
          values_per_shard=10, input_queue_capacity_factor=2)
      with tf.Session() as sess:
        batches = [sess.run(tensors) for _ in range(20)]
    by_features = {r["features"][0].tobytes(): r for r in cached.values()}
    self.assertEqual(len(by_features), len(cached))
    seen = set()
    for features, input_seqs, target_seqs, mask in batches:
      self.assertEqual(features.shape, (8, 2048))
      self.assertEqual(mask.max(axis=0).sum(), mask.shape[1])  # Tight pad.
      for row in range(8):
        record = by_features[features[row].astype(np.float32).tobytes()]
        n = int(mask[row].sum())
        self.assertTrue(np.all(mask[row, :n] == 1) and
                        np.all(mask[row, n:] == 0))
        caption = list(input_seqs[row, :n]) + [target_seqs[row, n - 1]]
        np.testing.assert_array_equal(input_seqs[row, 1:n],
                                      target_seqs[row, :n - 1])
        self.assertIn(caption, record["captions"])
        seen.add((record["image_id"], tuple(caption)))
    # 160 draws cover many distinct captions: shuffled, not one image's.
    self.assertGreater(len(seen), 60)

  def testTrainFromFeaturesContinuesIntoPhase2AndInference(self):
    out = testing_utils.shared_features()  # The default settings' cache.
    step0 = os.path.join(self.train_dir, "model.ckpt-0")
    train_dir = testing_utils.start_train_dir_from(
        step0, os.path.join(self.root, "train_from_features"))
    features = os.path.join(out, "features-train-?????-of-00002")
    result = testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + features, "--train_dir=" + train_dir,
        "--model_config_file=" + self.config_file, "--number_of_steps=20",
        "--log_every_n_steps=5"])
    self.assertIn("global step 20:", result.stderr)
    latest = tf.train.latest_checkpoint(train_dir)
    reader = tf.train.load_checkpoint(latest)
    self.assertGreaterEqual(int(reader.get_tensor("global_step")), 20)
    # Same variables and shapes as image training; the encoder untouched.
    image_reader = tf.train.load_checkpoint(step0)
    self.assertEqual(reader.get_variable_to_shape_map(),
                     image_reader.get_variable_to_shape_map())
    self.assertEqual(feature_records.encoder_fingerprint(latest),
                     feature_records.encoder_fingerprint(step0))
    self.assertGreater(np.abs(reader.get_tensor("lstm/basic_lstm_cell/kernel") -
                              image_reader.get_tensor(
                                  "lstm/basic_lstm_cell/kernel")).max(), 0)

    # Phase 2 on images continues from it; run_inference captions with it.
    testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + train_dir, "--model_config_file=" + self.config_file,
        "--train_inception=true", "--number_of_steps=23"])
    self.assertGreaterEqual(int(tf.train.load_checkpoint(
        tf.train.latest_checkpoint(train_dir)).get_tensor("global_step")), 23)
    image = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                          "*.jpg")))[0]
    result = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + latest,
        "--vocab_file=" + self.paths["vocab_file"], "--input_files=" + image
    ])
    self.assertIn("Captions for image %s:" % os.path.basename(image),
                  result.stdout)

  def testRebuiltSplitMakesEveryShardStale(self):
    split = os.path.join(self.root, "split_copy")
    os.makedirs(split)
    for path in glob.glob(self.paths["train_pattern"]):
      shutil.copy(path, split)
    out = os.path.join(self.root, "features_rebuilt")
    args = ["--input_file_pattern=" + os.path.join(split, "train-*"),
            "--output_dir=" + out, "--checkpoint_path=" + self.train_dir]
    testing_utils.run_module("im2txt.cache_features", args)
    # The split is rebuilt: one file loses its last record.
    first = sorted(glob.glob(os.path.join(split, "train-*")))[0]
    kept = list(tf.io.tf_record_iterator(first))[:-1]
    with tf.io.TFRecordWriter(first) as writer:
      for record in kept:
        writer.write(record)
    result = testing_utils.run_module("im2txt.cache_features", args)
    self.assertIn("2 written, 0 kept", result.stdout)
    self.assertIn("is rewritten: made from other inputs or settings: "
                  "split_sha256", result.stderr)
    result = testing_utils.run_module("im2txt.cache_features", args)
    self.assertIn("0 written, 2 kept", result.stdout)

  def testCorruptRecordIsNamed(self):
    data = os.path.join(self.root, "corrupt_split")
    os.makedirs(data)
    bad = os.path.join(data, "train-00000-of-00001")
    testing_utils.corrupt_copy(
        sorted(glob.glob(self.paths["train_pattern"]))[0], bad)
    result = testing_utils.run_module("im2txt.cache_features", [
        "--input_file_pattern=" + bad,
        "--output_dir=" + os.path.join(self.root, "corrupt_features"),
        "--checkpoint_path=" + self.train_dir], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr, r"cache_features: error: unreadable "
                     r"records: %s \(record \d+, byte offset \d+\)"
                     % re.escape(bad))

  def testBadModelConfigFileIsAClearError(self):
    bad = os.path.join(self.root, "bad_config.json")
    with open(bad, "w") as f:
      f.write("[1, 2]")
    result = testing_utils.run_module("im2txt.cache_features", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--output_dir=" + os.path.join(self.root, "bad_config_features"),
        "--checkpoint_path=" + self.train_dir,
        "--model_config_file=" + bad], check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    self.assertIn("cache_features: error: " + bad + ": expected a JSON "
                  "object of ModelConfig fields", result.stderr)
    self.assertNotIn("Traceback", result.stderr)

  def testFeaturesOfAnotherEncoderAreRefused(self):
    out = testing_utils.shared_features()
    features = os.path.join(out, "features-*")
    # A fresh train_dir without an Inception checkpoint: nothing to match.
    result = testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + features,
        "--train_dir=" + os.path.join(self.root, "fresh"),
        "--model_config_file=" + self.config_file, "--number_of_steps=5"],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("needs the encoder that computed them", result.stderr)
    # Another train_dir (its own random encoder): the fingerprints differ.
    other = os.path.join(self.root, "other_train")
    testing_utils.train_tiny_model(self.paths, other, self.config_file, 1)
    result = testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + features, "--train_dir=" + other,
        "--model_config_file=" + self.config_file, "--number_of_steps=5"],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("was computed by the encoder of", result.stderr)
    # Phase 2 from features is refused with the reason.
    result = testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + features, "--train_dir=" + other,
        "--train_inception=true", "--number_of_steps=5"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("trains phase 1 only", result.stderr)


if __name__ == "__main__":
  unittest.main()
