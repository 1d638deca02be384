"""verify_records: every file checked, bad ones named with the record and
offset of the first bad record, exit status 1 if any."""

import os
import tempfile
import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from tests import testing_utils


def _corrupt_copy(source, target, index=1):
  with open(source, "rb") as f:
    data = bytearray(f.read())
  first = int.from_bytes(data[:8], "little") + 16
  data[first * index + 20] ^= 0xFF
  with open(target, "wb") as f:
    f.write(bytes(data))


class VerifyRecordsTest(unittest.TestCase):

  def testGoodBadAndForeignFiles(self):
    folder = tempfile.mkdtemp()
    pairs = [(i, ["<S>", "w%d" % i, "</S>"]) for i in range(4)]
    good = testing_utils.write_caption_records(
        os.path.join(folder, "train-00000-of-00003"), pairs)
    _corrupt_copy(good, os.path.join(folder, "train-00001-of-00003"))
    with tf.io.TFRecordWriter(
        os.path.join(folder, "train-00002-of-00003")) as writer:
      writer.write(feature_records.make_example(
          1, np.zeros([1, 2]), [[0, 1]]).SerializeToString())
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + os.path.join(folder, "train-*")],
                                      check=False)
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    lines = result.stdout.splitlines()
    self.assertEqual(lines[0], "ok   %s: 4 records" % good)
    self.assertRegex(lines[1], r"^BAD  .*train-00001-of-00003: 1 good "
                     r"records, then \(record 1, byte offset \d+\): not a "
                     r"TFRecord file, or corrupted")
    self.assertRegex(lines[2], r"^BAD  .*train-00002-of-00003: 0 good "
                     r"records, then \(record 0, byte offset 0\): not a "
                     r"record of the expected kind")
    self.assertEqual(lines[3], "3 files, 5 records read; 2 bad files: "
                     "train-00001-of-00003, train-00002-of-00003")
    # Checksums only: the feature record passes.
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + os.path.join(folder, "train-0000[02]*"),
        "--kind=any"])
    self.assertIn("2 files, 5 records read; 0 bad files", result.stdout)
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + os.path.join(folder, "nothing-*")],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("verify_records: error:", result.stderr)
    # A comma-separated part that matches nothing: named, refused.
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=%s,%s" % (good, os.path.join(folder, "tain-*"))],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Found no input files matching %s, one of the "
                  "comma-separated patterns" % os.path.join(folder, "tain-*"),
                  result.stderr)


if __name__ == "__main__":
  unittest.main()
