"""Tests of the input pipeline: dynamic padding and sharded prefetching."""

import os
import re
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.ops import inputs


class BatchWithDynamicPadTest(tf.test.TestCase):

  def testDocstringExample(self):
    with tf.Graph().as_default():
      captions = [[1, 2, 3, 4, 5], [1, 2, 3, 4], [1, 2, 3]]
      # One thread reading captions of unknown length from a queue, as the
      # record parser gives them, so the batch keeps their order.
      caption_queue = tf.FIFOQueue(3, [tf.int64])
      enqueues = [caption_queue.enqueue([tf.constant(c, dtype=tf.int64)])
                  for c in captions]
      caption = caption_queue.dequeue()
      caption.set_shape([None])
      images, input_seqs, target_seqs, mask = inputs.batch_with_dynamic_pad(
          [[tf.zeros([2, 2, 3]), caption]], batch_size=3, queue_capacity=30)
      self.assertEqual(input_seqs.dtype, tf.int64)
      self.assertEqual(mask.dtype, tf.int32)
      with self.session() as sess:
        for op in enqueues:
          sess.run(op)
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = sess.run([images, input_seqs, target_seqs, mask])
        coord.request_stop()
      # Closing the session cancels the enqueues the runners are blocked in.
      coord.join(threads)
    images_v, inputs_v, targets_v, mask_v = got
    self.assertEqual(images_v.shape, (3, 2, 2, 3))
    self.assertAllEqual(inputs_v, [[1, 2, 3, 4], [1, 2, 3, 0], [1, 2, 0, 0]])
    self.assertAllEqual(targets_v, [[2, 3, 4, 5], [2, 3, 4, 0], [2, 3, 0, 0]])
    self.assertAllEqual(mask_v, [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]])


class PrefetchTest(tf.test.TestCase):

  def testNoMatchingFilesNamesPattern(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(inputs.NoInputFilesError,
                                  "Found no input files matching /nope/x-\\*"):
        inputs.prefetch_input_data(tf.TFRecordReader(), "/nope/x-*",
                                   is_training=True, batch_size=2,
                                   values_per_shard=10)

  def testEvalReadsFilesInOrderAndCommaPatterns(self):
    d = tempfile.mkdtemp()
    for name, values in (("a-0", [b"a0", b"a1"]), ("b-0", [b"b0"])):
      with tf.python_io.TFRecordWriter(os.path.join(d, name)) as w:
        for v in values:
          w.write(v)
    pattern = os.path.join(d, "a-*") + "," + os.path.join(d, "b-*")
    self.assertLen(inputs.match_input_files(pattern), 2)
    # One part that matches nothing is named, not silently left out.
    typo = os.path.join(d, "c-*")
    with self.assertRaisesRegex(
        inputs.NoInputFilesError, re.escape(
            "Found no input files matching %s, one of the comma-separated "
            "patterns of %s" % (typo, pattern + "," + typo))):
      inputs.match_input_files(pattern + "," + typo)
    with tf.Graph().as_default():
      queue = inputs.prefetch_input_data(
          tf.TFRecordReader(), pattern, is_training=False, batch_size=1,
          values_per_shard=2)
      value = queue.dequeue()
      summaries = [s.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)]
      self.assertIn("queue/fifo_input_queue/fraction_of_5_full:0", summaries)
      with self.session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = [sess.run(value) for _ in range(5)]
        coord.request_stop()
      coord.join(threads)
    self.assertEqual(got, [b"a0", b"a1", b"b0", b"a0", b"a1"])


if __name__ == "__main__":
  tf.test.main()
