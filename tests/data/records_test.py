"""The record reader: records in order, distinct images, and corrupt or
foreign records named by file and index."""

import os
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import records
from tests import testing_utils


class RecordsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = tempfile.mkdtemp()
    self.a = testing_utils.write_caption_records(
        os.path.join(self.folder, "a"), [
        (1, ["<S>", "x", "</S>"]), (2, ["<S>", "y", "</S>"]),
        (1, ["<S>", "z", "</S>"])])
    self.b = testing_utils.write_caption_records(
        os.path.join(self.folder, "b"), [
        (2, ["<S>", "w", "</S>"]), (3, ["<S>", "v", "</S>"])])

  def testRecordsInOrderAndDistinctImages(self):
    parsed = list(records.read_sequence_examples(self.a))
    self.assertEqual([(r["image_id"], r["caption"][1]) for r in parsed],
                     [(1, "x"), (2, "y"), (1, "z")])
    self.assertEqual(len(list(records.read_records(self.b))), 2)
    self.assertEqual(list(records.distinct_images([self.a, self.b])),
                     [(1, b"jpeg-1", self.a), (2, b"jpeg-2", self.a),
                      (3, b"jpeg-3", self.b)])

  def testCorruptRecordIsNamedByFileAndIndex(self):
    with open(self.a, "rb") as f:
      data = bytearray(f.read())
    # Flip a byte inside the second record's payload: its CRC fails.
    first_length = int.from_bytes(data[:8], "little") + 16
    data[first_length + 20] ^= 0xFF
    bad = os.path.join(self.folder, "bad")
    with open(bad, "wb") as f:
      f.write(bytes(data))
    got = []
    with self.assertRaises(records.RecordReadError) as e:
      for record in records.read_sequence_examples(bad):
        got.append(record["image_id"])
    self.assertEqual(got, [1])
    self.assertEqual((e.exception.path, e.exception.index), (bad, 1))
    self.assertEqual(e.exception.offset, first_length)
    self.assertIn(bad + " (record 1, byte offset %d): not a TFRecord file, "
                  "or corrupted" % first_length, str(e.exception))
    # verify_file counts the good records before the first bad one, and
    # find_first_corrupt picks the bad file out of several.
    self.assertEqual(records.verify_file(self.a), (3, None))
    count, error = records.verify_file(bad)
    self.assertEqual((count, error.index), (1, 1))
    self.assertEqual(records.find_first_corrupt([self.a, bad, self.b]).path,
                     bad)
    self.assertIsNone(records.find_first_corrupt([self.a, self.b]))

  def testMissingFileAndForeignRecords(self):
    with self.assertRaisesRegex(records.RecordReadError, "file not found"):
      list(records.read_records(os.path.join(self.folder, "missing")))
    other = os.path.join(self.folder, "examples")
    with tf.io.TFRecordWriter(other) as writer:
      writer.write(tf.train.Example().SerializeToString())
    with self.assertRaisesRegex(
        records.RecordReadError,
        r"examples \(record 0, byte offset 0\): not a record of the "
        r"expected kind"):
      list(records.read_sequence_examples(other))


if __name__ == "__main__":
  tf.test.main()
