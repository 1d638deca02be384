"""Round trip of the record schema: writer -> TFRecord -> graph parser."""

import os
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.data import schema
from im2txt.ops import inputs


class SchemaTest(tf.test.TestCase):

  def testKeysAreTheOriginalsAndTheConfigDefaults(self):
    self.assertEqual(
        (schema.IMAGE_ID_KEY, schema.IMAGE_DATA_KEY, schema.CAPTION_KEY,
         schema.CAPTION_IDS_KEY),
        ("image/image_id", "image/data", "image/caption", "image/caption_ids"))
    config = configuration.ModelConfig()
    self.assertEqual(config.image_feature_name, schema.IMAGE_DATA_KEY)
    self.assertEqual(config.caption_feature_name, schema.CAPTION_IDS_KEY)

  def testRoundTripThroughTFRecordAndGraphParser(self):
    tokens = ["<S>", "ein", "hund", "</S>"]
    example = schema.make_sequence_example(42, b"\xff\xd8\xffjpeg", tokens,
                                           [1, 7, 9, 2])
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "records")
      with tf.python_io.TFRecordWriter(path) as writer:
        writer.write(example.SerializeToString())
      serialized = list(tf.io.tf_record_iterator(path))
    self.assertLen(serialized, 1)
    parsed = schema.parse_sequence_example_proto(serialized[0])
    self.assertEqual(parsed, {"image_id": 42, "image": b"\xff\xd8\xffjpeg",
                              "caption": tokens, "caption_ids": [1, 7, 9, 2]})
    with tf.Graph().as_default():
      image, caption = inputs.parse_sequence_example(
          tf.constant(serialized[0]), schema.IMAGE_DATA_KEY,
          schema.CAPTION_IDS_KEY)
      self.assertEqual(caption.dtype, tf.int64)
      with self.session() as sess:
        image_value, caption_value = sess.run([image, caption])
    self.assertEqual(image_value, b"\xff\xd8\xffjpeg")
    self.assertAllEqual(caption_value, [1, 7, 9, 2])

  def testRejectsMismatchedTokensAndIds(self):
    with self.assertRaisesRegex(ValueError, "3 tokens and 2 ids"):
      schema.make_sequence_example(1, b"x", ["<S>", "a", "</S>"], [0, 1])


if __name__ == "__main__":
  tf.test.main()
