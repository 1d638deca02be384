"""The bfloat16 encoder option through the binaries: cache_features, train
(phase 1 on images) and run_inference. The graph-level tests are in
tests/ops/image_embedding_test.py and tests/show_and_tell_model_test.py."""

import glob
import os

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from tests import testing_utils


@pytest.mark.slow
class Bfloat16BinariesTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS
  COPY_TRAIN_DIR = True  # The refusals below name it as --train_dir.

  def _cache(self, output_dir, *extra):
    return testing_utils.run_module("im2txt.cache_features", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--output_dir=" + output_dir,
        "--checkpoint_path=" + self.train_dir] + list(extra))

  def testCacheRecordsTheDtypeAndRedoesShardsOfTheOther(self):
    out32 = testing_utils.shared_features()  # float32, the default.
    out16 = os.path.join(self.root, "features16")
    result = self._cache(out16, "--encoder_dtype=bfloat16")
    self.assertIn("2 written, 0 kept", result.stdout)
    info = feature_records.FeatureShardInfo.from_json_file(
        os.path.join(out16, "features-train-00000-of-00002.json"))
    self.assertEqual(info.encoder_dtype, "bfloat16")
    self.assertEqual(feature_records.FeatureShardInfo.from_json_file(
        os.path.join(out32, "features-train-00000-of-00002.json")
    ).encoder_dtype, "float32")
    a = testing_utils.read_feature_shards(os.path.join(out32, "features-*"))
    b = testing_utils.read_feature_shards(os.path.join(out16, "features-*"))
    self.assertEqual(sorted(a), sorted(b))
    for image_id, record in a.items():
      f32, f16 = record["features"][0], b[image_id]["features"][0]
      self.assertFalse(np.array_equal(f32, f16))
      # Related but not close: this tiny calibrated random encoder amplifies
      # small input changes (per-image correlations 0.73-0.92 measured);
      # tests/ops/image_embedding_test.py checks closeness on a tame one.
      self.assertTrue(np.all(np.isfinite(f16)))
      self.assertGreater(np.corrcoef(f32, f16)[0, 1], 0.5)
    # Same dtype again: kept. The other dtype: another cache, rewritten.
    self.assertIn("0 written, 2 kept",
                  self._cache(out16, "--encoder_dtype=bfloat16").stdout)
    self.assertIn("2 written, 0 kept", self._cache(out16).stdout)

  def testPhase1TrainsOnABfloat16EncoderAndRunInferenceUsesIt(self):
    step0 = os.path.join(self.train_dir, "model.ckpt-0")
    train_dir = testing_utils.start_train_dir_from(
        step0, os.path.join(self.root, "train_bf16"))
    testing_utils.train_tiny_model(self.paths, train_dir, self.config_file, 4,
                                   "--encoder_dtype=bfloat16")
    latest = tf.train.latest_checkpoint(train_dir)
    reader = tf.train.load_checkpoint(latest)
    self.assertGreaterEqual(int(reader.get_tensor("global_step")), 4)
    step0_reader = tf.train.load_checkpoint(step0)
    self.assertEqual(reader.get_variable_to_shape_map(),
                     step0_reader.get_variable_to_shape_map())
    self.assertEqual(reader.get_variable_to_dtype_map(),
                     step0_reader.get_variable_to_dtype_map())
    self.assertEqual(feature_records.encoder_fingerprint(latest),
                     feature_records.encoder_fingerprint(step0))
    self.assertGreater(np.abs(
        reader.get_tensor("lstm/basic_lstm_cell/kernel") -
        step0_reader.get_tensor("lstm/basic_lstm_cell/kernel")).max(), 0)

    images = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                           "*.jpg")))[:3]
    outputs = {}
    for dtype in ("float32", "bfloat16"):
      result = testing_utils.run_module("im2txt.run_inference", [
          "--checkpoint_path=" + latest,
          "--vocab_file=" + self.paths["vocab_file"],
          "--input_files=" + ",".join(images), "--batch_size=2",
          "--encoder_dtype=" + dtype])
      outputs[dtype] = result.stdout
    for dtype, stdout in outputs.items():
      for image in images:
        self.assertIn("Captions for image %s:" % os.path.basename(image),
                      stdout, dtype)
      self.assertEqual(stdout.count("  0) "), 3, dtype)

  def testBinariesRefuseBfloat16WhereItCannotApply(self):
    result = testing_utils.run_module("im2txt.train", [
        "--input_file_pattern=" + self.paths["train_pattern"],
        "--train_dir=" + self.train_dir, "--train_inception=true",
        "--encoder_dtype=bfloat16", "--number_of_steps=5"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("train it (phase 2, --train_inception=true) in float32",
                  result.stderr)
    result = testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + os.path.join(self.root, "none-*"),
        "--train_dir=" + self.train_dir, "--encoder_dtype=bfloat16",
        "--number_of_steps=5"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("--encoder_dtype has no effect with --features_file_pattern",
                  result.stderr)
    result = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"], "--input_files=x.jpg",
        "--encoder_dtype=float16"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("--encoder_dtype=float16: value should be one of "
                  "<float32|bfloat16>", result.stderr)


if __name__ == "__main__":
  tf.test.main()
