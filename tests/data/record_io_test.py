"""Tests of the builder's TensorFlow-free record serialization and files."""

import os
import random
import shutil
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import record_io
from im2txt.data import schema

# (image_id, image bytes, tokens, token ids): edge values of every field.
_CASES = [
    (0, b"", ["<S>", "</S>"], [1, 2]),
    (581929, bytes(range(256)) * 600, ["<S>", "a", "ünï", "</S>"],
     [1, 5, 0, 2]),
    (-5, b"x" * 200, ["<S>"] * 300, list(range(300))),
    (2 ** 62, b"\x00", ["raw", "s"], [2 ** 40, 127]),
    (128, b"\xff\xd8", ["é" * 70], [128]),
]


class SerializeTest(tf.test.TestCase):

  def testSameBytesAsTheProtobufLibrary(self):
    rng = random.Random(0)
    cases = list(_CASES) + [
        (rng.randrange(-2 ** 63, 2 ** 63), os.urandom(rng.randrange(3000)),
         [chr(rng.randrange(32, 0x3000)) * rng.randrange(1, 5)
          for _ in range(rng.randrange(1, 30))], [])
        for _ in range(50)]
    for image_id, image, tokens, ids in cases:
      ids = ids or [rng.randrange(0, 2 ** 31) for _ in tokens]
      expected = schema.make_sequence_example(
          image_id, image, tokens, ids).SerializeToString(deterministic=True)
      self.assertEqual(
          record_io.serialize_sequence_example(image_id, image, tokens, ids),
          expected, (image_id, tokens[:3]))

  def testParsesBackToTheFields(self):
    serialized = record_io.serialize_sequence_example(*_CASES[1])
    parsed = schema.parse_sequence_example_proto(serialized)
    self.assertEqual(parsed["image_id"], 581929)
    self.assertEqual(parsed["image"], _CASES[1][1])
    self.assertEqual(parsed["caption"], ["<S>", "a", "ünï", "</S>"])
    self.assertEqual(parsed["caption_ids"], [1, 5, 0, 2])


class RecordWriterTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)

  def testSameFileAsTensorFlowsWriterAndReadable(self):
    records = [record_io.serialize_sequence_example(*c) for c in _CASES]
    records.append(b"")  # An empty record frames too.
    ours, theirs = (os.path.join(self.root, n) for n in ("ours", "theirs"))
    self.assertTrue(record_io.writes_without_tensorflow(ours))
    with record_io.RecordWriter(ours) as writer:
      for r in records:
        writer.write(r)
    with tf.io.TFRecordWriter(theirs) as writer:
      for r in records:
        writer.write(r)
    with open(ours, "rb") as a, open(theirs, "rb") as b:
      self.assertEqual(a.read(), b.read())
    self.assertEqual(list(tf.io.tf_record_iterator(ours)), records)

  def testCorruptionIsCaughtByTheReadersChecksum(self):
    path = os.path.join(self.root, "r")
    with record_io.RecordWriter(path) as writer:
      writer.write(record_io.serialize_sequence_example(*_CASES[1]))
    data = bytearray(open(path, "rb").read())
    data[5000] ^= 1
    with open(path, "wb") as f:
      f.write(bytes(data))
    with self.assertRaises(tf.errors.DataLossError):
      list(tf.io.tf_record_iterator(path))

  def testSchemePathsGoThroughTensorFlow(self):
    path = "ram://record_io_test/r"
    self.assertFalse(record_io.writes_without_tensorflow(path))
    records = [record_io.serialize_sequence_example(*c) for c in _CASES[:2]]
    with record_io.RecordWriter(path) as writer:
      for r in records:
        writer.write(r)
    self.assertEqual(list(tf.io.tf_record_iterator(path)), records)


if __name__ == "__main__":
  tf.test.main()
