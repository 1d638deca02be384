"""Captioning a split from cached features: crop 0 of the cache is the
inference preprocessing, so the captions are the ones of the images."""

import json
import os
import shutil
import sys

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.captioning import feature_captioner
from im2txt.common import checkpoints
from im2txt.inference_utils import caption_generator
from tests import testing_utils


@pytest.mark.slow
class FeatureCaptioningTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.features = testing_utils.shared_features_pattern()

  def testCropZeroIsTheInferencePreprocessingAndCaptionsAreTheSame(self):
    loaded = captioner.load_model(self.train_dir, self.paths["vocab_file"])
    generator = caption_generator.CaptionGenerator(loaded.model, loaded.vocab)
    images = list(captioner.images_from_records(self.paths["train_pattern"]))
    items = feature_captioner.features_of_split(self.features)
    self.assertEqual(sorted(i for i, _, _ in items),
                     sorted(i for i, _, _ in images))
    by_id = {image_id: features for image_id, features, _ in items}
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      # The initial LSTM states of the pixels (run_inference's graph: its
      # preprocessing and encoder) and of the cached crop 0.
      from_images = loaded.model.feed_images(
          sess, [encoded for _, encoded, _ in images])
      from_features = loaded.model.feed_features(
          sess, np.stack([by_id[image_id] for image_id, _, _ in images]))
      np.testing.assert_allclose(from_features, from_images, rtol=1e-4,
                                 atol=1e-5)
      results, _, failures = captioner.caption_all(
          sess, generator, loaded.vocab, images)
      self.assertEqual(failures, [])
      feature_results, _ = feature_captioner.caption_features(
          sess, generator, loaded.vocab, items, batch_size=7)
    self.assertEqual(sorted(feature_results, key=lambda r: r["image_id"]),
                     sorted(results, key=lambda r: r["image_id"]))

    # The binary: the same results file.
    output = os.path.join(self.root, "from_features.json")
    testing_utils.run_module("im2txt.caption_images", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--features_file_pattern=" + self.features,
        "--output_file=" + output])
    with open(output, encoding="utf-8") as f:
      self.assertEqual(sorted(json.load(f), key=lambda r: r["image_id"]),
                       sorted(results, key=lambda r: r["image_id"]))

  def testFeaturesOfAnotherEncoderAreRefused(self):
    # The shared model with one encoder weight changed: another encoder.
    other_dir = os.path.join(self.root, "other")
    os.makedirs(other_dir)
    latest = tf.train.latest_checkpoint(self.train_dir)
    testing_utils.write_other_encoder(latest, other_dir,
                                      testing_utils.SHARED_TRAIN_STEPS)
    shutil.copy(os.path.join(self.train_dir, "model_config.json"), other_dir)
    other = tf.train.latest_checkpoint(other_dir)
    with self.assertRaisesRegex(
        feature_captioner.FeatureCaptioningError,
        r"features-train-0000[01]-of-00002 was computed by the encoder of .*, "
        r"not by the encoder in .*other/model\.ckpt-\d+\. Its captions from "
        r"these features would not be its captions of the images"):
      feature_captioner.check_encoder(
          self.features, other, checkpoints.model_config_for(other))

if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
