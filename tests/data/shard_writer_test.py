"""Shard and split arithmetic (shard_writer, captions_metadata)."""

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import captions_metadata
from im2txt.data import shard_writer


class SplitTest(tf.test.TestCase):

  def testValSplitArithmeticOfMscoco(self):
    val = list(range(40504))
    train_part, val_part, test_part = captions_metadata.split_val_images(val)
    self.assertEqual((len(train_part), len(val_part), len(test_part)),
                     (34428, 2025, 4051))
    self.assertEqual(val_part[0], 34428)
    self.assertEqual(test_part[0], 36453)

  def testThreadRangesAreContiguous(self):
    self.assertEqual(shard_writer.thread_ranges(10, 3),
                     [[0, 3], [3, 6], [6, 10]])

  def testShardNames(self):
    self.assertEqual(shard_writer.shard_name("train", 3, 256),
                     "train-00003-of-00256")

  def testShardThreadCheck(self):
    shard_writer.check_shards_and_threads(8, train_shards=256,
                                               val_shards=4, test_shards=8)
    with self.assertRaisesRegex(ValueError, "train_shards"):
      shard_writer.check_shards_and_threads(3, train_shards=256,
                                                 val_shards=2, test_shards=2)


if __name__ == "__main__":
  tf.test.main()
