"""The configurations: the original's values, JSON round trip, checks."""

import os
import tempfile
import unittest

from im2txt.common import checkpoints
from im2txt import configuration


class ConfigurationTest(unittest.TestCase):

  def testModelConfigDefaultsAreTheOriginals(self):
    c = configuration.ModelConfig()
    self.assertEqual(
        (c.image_format, c.values_per_input_shard,
         c.input_queue_capacity_factor, c.num_input_reader_threads,
         c.image_feature_name, c.caption_feature_name, c.vocab_size,
         c.num_preprocess_threads, c.batch_size, c.image_height, c.image_width,
         c.initializer_scale, c.embedding_size, c.num_lstm_units,
         c.lstm_dropout_keep_prob, c.resize_height, c.resize_width),
        ("jpeg", 2300, 2, 1, "image/data", "image/caption_ids", 12000, 4, 32,
         299, 299, 0.08, 512, 512, 0.7, 346, 346))
    self.assertIsNone(c.input_file_pattern)
    self.assertIsNone(c.inception_checkpoint_file)

  def testTrainingConfigDefaultsAreTheOriginals(self):
    c = configuration.TrainingConfig()
    self.assertEqual(
        (c.num_examples_per_epoch, c.optimizer, c.initial_learning_rate,
         c.learning_rate_decay_factor, c.num_epochs_per_decay,
         c.train_inception_learning_rate, c.clip_gradients,
         c.max_checkpoints_to_keep),
        (586363, "SGD", 2.0, 0.5, 8.0, 0.0005, 5.0, 5))

  def testJsonRoundTrip(self):
    c = configuration.ModelConfig()
    c.vocab_size = 77
    with tempfile.TemporaryDirectory() as d:
      configuration.save_configs(d, c, configuration.TrainingConfig())
      self.assertEqual(configuration.load_model_config(d), c)
      self.assertEqual(
          configuration.TrainingConfig.from_json_file(
              os.path.join(d, configuration.TRAINING_CONFIG_FILENAME)),
          configuration.TrainingConfig())
      self.assertEqual(sorted(os.listdir(d)),
                       ["model_config.json", "training_config.json"])

  def testUnknownFieldIsAnError(self):
    with self.assertRaisesRegex(ValueError, "vocab_sise"):
      configuration.ModelConfig.from_dict({"vocab_sise": 3})

  def testShapeMismatchNamesFieldsAndFile(self):
    saved = configuration.ModelConfig()
    current = configuration.ModelConfig()
    current.num_lstm_units = 256
    current.batch_size = 8  # Not a shape of any variable: allowed.
    with self.assertRaises(configuration.ConfigMismatchError) as cm:
      configuration.check_compatible(saved, current, "/x/model_config.json")
    self.assertIn("num_lstm_units: saved 512, now 256", str(cm.exception))
    self.assertIn("/x/model_config.json", str(cm.exception))
    current.num_lstm_units = 512
    configuration.check_compatible(saved, current, "unused")

  def testModelConfigForCheckpointPrefersSavedConfig(self):
    with tempfile.TemporaryDirectory() as d:
      self.assertEqual(checkpoints.model_config_for(d),
                       configuration.ModelConfig())
      c = configuration.ModelConfig()
      c.vocab_size = 99
      configuration.save_configs(d, c)
      self.assertEqual(checkpoints.model_config_for(d).vocab_size, 99)
      self.assertEqual(checkpoints.model_config_for(
          os.path.join(d, "model.ckpt-5")).vocab_size, 99)


if __name__ == "__main__":
  unittest.main()
