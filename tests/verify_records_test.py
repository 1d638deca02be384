"""verify_records: every file checked, bad ones named with the record and
offset of the first bad record, exit status 1 if any."""

import json
import os
import shutil
import tempfile
import unittest

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from im2txt.data import shard_writer
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
    self.assertEqual(lines[0], "ok   %s: 4 records (how many were written "
                     "is not recorded)" % good)
    self.assertRegex(lines[1], r"^BAD  .*train-00001-of-00003: 1 good "
                     r"records, then \(record 1, byte offset \d+\): not a "
                     r"TFRecord file, or corrupted")
    self.assertRegex(lines[2], r"^BAD  .*train-00002-of-00003: 0 good "
                     r"records, then \(record 0, byte offset 0\): not a "
                     r"record of the expected kind")
    self.assertEqual(lines[3], "3 files, 5 records read; 2 bad files: "
                     "train-00001-of-00003, train-00002-of-00003")
    self.assertIn("1 files have no record of how many records were written",
                  lines[4])
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


def _first_records(source, target, n):
  """Copies the first n records of source: a file cut at a record
  boundary, which every checksum still accepts."""
  with tf.io.TFRecordWriter(target) as writer:
    for i, record in enumerate(tf.io.tf_record_iterator(source)):
      if i == n:
        break
      writer.write(record)


class CountsTest(unittest.TestCase):

  def testShardsCutAtARecordBoundaryAreBadAgainstTheWrittenCounts(self):
    paths = testing_utils.shared_dataset()
    data = os.path.join(tempfile.mkdtemp(), "data")
    state = os.path.join(data, shard_writer.STATE_DIRNAME)
    os.makedirs(state)
    source = sorted(tf.io.gfile.glob(paths["train_pattern"]))[0]
    name = os.path.basename(source)
    with open(os.path.join(os.path.dirname(source), shard_writer.STATE_DIRNAME,
                           name + ".json")) as f:
      written = json.load(f)["written"]
    self.assertGreater(written, 1)
    shutil.copy(os.path.join(os.path.dirname(source),
                             shard_writer.STATE_DIRNAME, name + ".json"),
                state)
    _first_records(source, os.path.join(data, name), 1)
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + os.path.join(data, "train-*")], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("BAD  %s: 1 records, but %d were written (%s)" % (
        os.path.join(data, name), written, os.path.join(state, name + ".json")),
                  result.stdout)
    # Whole again: ok, checked against the count.
    shutil.copy(source, os.path.join(data, name))
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + os.path.join(data, "train-*")])
    self.assertIn("ok   %s: %d records, as written" % (
        os.path.join(data, name), written), result.stdout)
    # A feature shard against its description (one record per image).
    shard = os.path.join(data, "features-train-00000-of-00001")
    with tf.io.TFRecordWriter(shard) as writer:
      for image_id in range(3):
        writer.write(feature_records.make_example(
            image_id, np.zeros([1, 2]), [[0, 1]]).SerializeToString())
    with open(feature_records.sidecar_path(shard), "w") as f:
      json.dump({"num_images": 5, "num_captions": 5}, f)
    result = testing_utils.run_module("im2txt.verify_records", [
        "--input_file_pattern=" + shard, "--kind=features"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("BAD  %s: 3 records, but 5 were written" % shard,
                  result.stdout)


if __name__ == "__main__":
  unittest.main()
