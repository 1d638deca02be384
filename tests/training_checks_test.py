"""train's pre-flight checks on small real files: vocabulary size against
word_counts.txt and record ids, corrupt records, cached features against
the encoder and image size."""

import os
import tempfile

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.training import preflight
from im2txt.data import feature_records
from im2txt.ops import inputs as input_ops
from tests import testing_utils


def _encoder_checkpoint(path, value):
  with tf.Graph().as_default():
    tf.get_variable("InceptionV3/Conv2d_1a_3x3/weights", [2, 2],
                    initializer=tf.constant_initializer(value))
    tf.get_variable("InceptionV3/Conv2d_1a_3x3/weights/Momentum", [2, 2])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, path)
  return path


class VocabSizeTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = tempfile.mkdtemp()
    # Ids 0..4: the tokens' positions (records_test writes range(len)).
    testing_utils.write_caption_records(
        os.path.join(self.folder, "train-00000-of-00001"),
        [(1, ["<S>", "a", "b", "c", "</S>"]), (2, ["<S>", "a", "</S>"])])
    self.pattern = os.path.join(self.folder, "train-*")

  def testLargestIdOfTheRecords(self):
    self.assertEqual(preflight.check_vocab_size(self.pattern, 5), 4)
    with self.assertRaisesRegex(
        preflight.VocabularyMismatchError,
        r"train-00000-of-00001 \(record 0\) has word id 4, outside the "
        r"model's vocab_size 4.*at least 5"):
      preflight.check_vocab_size(self.pattern, 4)

  def testWordCountsBesideTheRecords(self):
    vocab = os.path.join(self.folder, "word_counts.txt")
    with open(vocab, "w") as f:
      f.write("".join("w%d 1\n" % i for i in range(9)))
    # 9 words + <UNK> = 10 ids; the records alone would fit in 5.
    with self.assertRaises(preflight.VocabularyMismatchError) as e:
      preflight.check_vocab_size(self.pattern, 9)
    self.assertIn(vocab, str(e.exception))
    self.assertIn("vocab_size is 9 and must be at least 10", str(e.exception))
    self.assertEqual(preflight.check_vocab_size(self.pattern, 10), 4)
    # The original's default vocab_size on this small data set: trained, as
    # the original did, with a warning.
    with self.assertLogs("tensorflow", "WARNING") as logs:
      self.assertEqual(preflight.check_vocab_size(self.pattern, 12000),
                       4)
    self.assertIn("%s has 10 words (with <UNK>), far fewer than the model's "
                  "vocab_size 12000" % vocab, "\n".join(logs.output))

  def testNoFilesAndCorruptRecordsAreNamed(self):
    with self.assertRaises(input_ops.NoInputFilesError):
      preflight.check_vocab_size(
          os.path.join(self.folder, "nothing-*"), 5)
    bad = os.path.join(self.folder, "train-bad")
    with open(bad, "wb") as f:
      f.write(b"not a record file at all, long enough to have a header")
    with self.assertRaisesRegex(preflight.VocabularyMismatchError,
                                "train-bad.*not a TFRecord file, or corrupted"):
      preflight.check_vocab_size(bad, 5)


class FeatureChecksTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = tempfile.mkdtemp()
    self.encoder = _encoder_checkpoint(os.path.join(self.folder, "enc.ckpt"),
                                       1.0)
    self.config = configuration.ModelConfig()
    self.shard = os.path.join(self.folder, "features-train-00000-of-00001")
    with tf.io.TFRecordWriter(self.shard) as writer:
      writer.write(feature_records.make_example(
          7, np.zeros([1, 4]), [[0, 3, 1]]).SerializeToString())

  def _describe(self, **overrides):
    fields = dict(
        source_file="train-00000-of-00001",
        split_files=["train-00000-of-00001"], num_images=1, num_captions=1,
        num_crops=1, feature_size=4, image_height=299, image_width=299,
        resize_height=346, resize_width=346, encoder_checkpoint=self.encoder,
        encoder_fingerprint=feature_records.encoder_fingerprint(self.encoder))
    fields.update(overrides)
    with open(feature_records.sidecar_path(self.shard), "w") as f:
      f.write(feature_records.FeatureShardInfo(**fields).to_json())

  def testMatchingShardsPass(self):
    self._describe()
    self.assertEqual(preflight.check_features_match_encoder(
        self.shard, self.encoder, self.config), 1)
    self.assertEqual(preflight.check_vocab_size(
        self.shard, 4, features=True), 3)

  def testMissingDescriptionOtherEncoderOrSize(self):
    with self.assertRaisesRegex(preflight.FeatureMismatchError,
                                "has no description"):
      preflight.check_features_match_encoder(
          self.shard, self.encoder, self.config)
    self._describe()
    # Optimizer slots do not change the fingerprint; weights do.
    other = _encoder_checkpoint(os.path.join(self.folder, "other.ckpt"), 2.0)
    with self.assertRaisesRegex(preflight.FeatureMismatchError,
                                "was computed by the encoder of"):
      preflight.check_features_match_encoder(self.shard, other,
                                                   self.config)
    self._describe(image_height=150, image_width=150)
    with self.assertRaisesRegex(preflight.FeatureMismatchError,
                                "features of 150x150 crops"):
      preflight.check_features_match_encoder(
          self.shard, self.encoder, self.config)


if __name__ == "__main__":
  tf.test.main()
