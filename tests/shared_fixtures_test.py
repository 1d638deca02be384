"""The shared fixtures of testing_utils are what the tests that use them
assume: records whose word ids are the vocabulary's, a model of the shared
config trained to its step, a feature cache of that model's encoder, and a
guard that fails when a test writes into any of them."""

import glob
import json
import os
import unittest

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.data import feature_records
from im2txt.data import records
from im2txt.inference_utils import vocabulary
from tests import testing_utils

pytestmark = pytest.mark.slow


class SharedFixturesTest(unittest.TestCase):

  def testRecordsCarryTheVocabularysIds(self):
    paths = testing_utils.shared_dataset()
    vocab = vocabulary.Vocabulary(paths["vocab_file"])
    counts = {}
    for split in ("train", "val", "test"):
      files = sorted(glob.glob(paths[split + "_pattern"]))
      self.assertTrue(files, split)
      counts[split] = 0
      for path in files:
        for record in records.read_sequence_examples(path):
          self.assertEqual(record["caption_ids"],
                           [vocab.word_to_id(w) for w in record["caption"]],
                           (path, record["caption"]))
          self.assertNotIn(vocab.unk_id, record["caption_ids"])
          counts[split] += 1
    # make_tiny_dataset's defaults (24 train and 40 val images, 5 captions
    # each; the val images are divided as the original divides val2014).
    self.assertEqual(counts, {"train": 290, "val": 10, "test": 20})

  def testTrainedModelIsOfTheSharedConfigAtItsStep(self):
    paths = testing_utils.shared_dataset()
    train_dir = testing_utils.shared_train_dir()
    with open(paths["config_file"]) as f:
      config = configuration.ModelConfig.from_dict(json.load(f))
    with open(os.path.join(train_dir, "model_config.json")) as f:
      self.assertEqual(json.load(f)["num_lstm_units"], config.num_lstm_units)
    latest = tf.train.latest_checkpoint(train_dir)
    reader = tf.train.load_checkpoint(latest)
    self.assertEqual(reader.get_tensor("global_step"),
                     testing_utils.SHARED_TRAIN_STEPS)
    shapes = reader.get_variable_to_shape_map()
    units, embedding = config.num_lstm_units, config.embedding_size
    self.assertEqual(shapes["lstm/basic_lstm_cell/kernel"],
                     [embedding + units, 4 * units])
    self.assertEqual(shapes["logits/weights"], [units, config.vocab_size])
    self.assertEqual(shapes["seq_embedding/map"],
                     [config.vocab_size, embedding])
    # The step-0 checkpoint (the calibrated random encoder) is kept.
    self.assertTrue(os.path.exists(os.path.join(train_dir,
                                                "model.ckpt-0.index")))

  def testFeatureCacheIsTheSharedEncodersOfTheTrainSplit(self):
    paths = testing_utils.shared_dataset()
    train_dir = testing_utils.shared_train_dir()
    features = testing_utils.shared_features()
    cached = testing_utils.read_feature_shards(
        os.path.join(features, "features-train-?????-of-00002"))
    image_ids = set()
    for path in glob.glob(paths["train_pattern"]):
      image_ids.update(r["image_id"]
                       for r in records.read_sequence_examples(path))
    self.assertEqual(sorted(cached), sorted(image_ids))
    fingerprint = feature_records.encoder_fingerprint(
        tf.train.latest_checkpoint(train_dir))
    for info in glob.glob(os.path.join(features, "features-train-*.json")):
      self.assertEqual(feature_records.FeatureShardInfo.from_json_file(
          info).encoder_fingerprint, fingerprint, info)

  def testAWriteIntoAFixtureIsCaught(self):
    folder = testing_utils.shared_dataset()["data_dir"]
    testing_utils.check_shared_unchanged()
    stray = os.path.join(folder, "stray.txt")
    with open(stray, "w") as f:
      f.write("written by a test")
    try:
      with self.assertRaisesRegex(AssertionError,
                                  "read-only fixture .*stray.txt"):
        testing_utils.check_shared_unchanged()
    finally:
      os.remove(stray)
    vocab = testing_utils.shared_dataset()["vocab_file"]
    with open(vocab, "rb") as f:
      original = f.read()
    with open(vocab, "wb") as f:
      f.write(original.replace(b"<S>", b"<T>"))  # Same size, other bytes.
    try:
      with self.assertRaisesRegex(AssertionError, "word_counts.txt"):
        testing_utils.check_shared_unchanged()
    finally:
      with open(vocab, "wb") as f:
        f.write(original)
    testing_utils.check_shared_unchanged()


if __name__ == "__main__":
  unittest.main()
