"""The cached-feature input pipeline: each batch row is a real caption of
its image with one of the image's crops, shifted and masked as
batch_with_dynamic_pad does; descriptions and temporary files are not
read as shards."""

import os
import tempfile

import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import feature_records
from im2txt.ops import feature_inputs
from im2txt.ops import inputs as input_ops

FEATURE_SIZE = 3


def _caption(image_id, length):
  """<S>=0, then `length` words naming the image, then </S>=1."""
  return [0] + [100 * image_id + w for w in range(length)] + [1]


class FeatureInputsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.captions = {}
    for shard in range(2):
      path = os.path.join(cls.folder, "features-train-%05d-of-00002" % shard)
      with tf.io.TFRecordWriter(path) as writer:
        for image_id in range(1 + shard * 5, 6 + shard * 5):
          # Crop k of image i is filled with 10 * i + k.
          crops = np.array([[10 * image_id + k] * FEATURE_SIZE
                            for k in range(2)], dtype=np.float32)
          captions = [_caption(image_id, n) for n in (1, 2, 4)]
          cls.captions[image_id] = captions
          writer.write(feature_records.make_example(
              image_id, crops, captions).SerializeToString())
      with open(feature_records.sidecar_path(path), "w") as f:
        f.write("{}")
      with open(path + ".tmp-123", "w") as f:
        f.write("partial")

  def testShardsWithoutDescriptionsOrTemporaryFiles(self):
    files = feature_inputs.match_feature_files(
        os.path.join(self.folder, "features-*"))
    self.assertEqual(sorted(os.path.basename(f) for f in files),
                     ["features-train-00000-of-00002",
                      "features-train-00001-of-00002"])
    with self.assertRaises(input_ops.NoInputFilesError):
      feature_inputs.match_feature_files(os.path.join(self.folder, "*.json"))

  def testBatchesAreShiftedCaptionsOfTheirImages(self):
    with tf.Graph().as_default():
      batch = feature_inputs.feature_batches(
          os.path.join(self.folder, "features-*"), batch_size=4,
          feature_size=FEATURE_SIZE, values_per_shard=5,
          input_queue_capacity_factor=2, num_parallel_calls=2)
      self.assertEqual(batch[0].shape.as_list(), [4, FEATURE_SIZE])
      crops_seen = set()
      with self.session() as sess:
        for _ in range(20):
          features, input_seqs, target_seqs, mask = sess.run(batch)
          self.assertEqual(input_seqs.shape, target_seqs.shape)
          self.assertEqual(mask.shape, input_seqs.shape)
          for row in range(4):
            value = int(features[row][0])
            image_id, crop = value // 10, value % 10
            crops_seen.add(crop)
            self.assertTrue(np.all(features[row] == value))
            n = int(mask[row].sum())
            self.assertTrue(np.all(mask[row, :n] == 1))
            self.assertTrue(np.all(mask[row, n:] == 0))
            # input + last target = the whole caption, one of the image's.
            caption = list(input_seqs[row, :n]) + [int(target_seqs[row,
                                                                   n - 1])]
            self.assertIn(caption, self.captions[image_id])
            self.assertEqual(list(target_seqs[row, :n]), caption[1:])
      self.assertEqual(crops_seen, {0, 1})


  def testImageIdsNameTheRowsImages(self):
    with tf.Graph().as_default():
      batch = feature_inputs.feature_batches(
          os.path.join(self.folder, "features-*"), batch_size=4,
          feature_size=FEATURE_SIZE, values_per_shard=5,
          input_queue_capacity_factor=2, num_parallel_calls=2,
          image_ids=True)
      self.assertEqual(len(batch), 5)
      self.assertEqual(batch[4].dtype, tf.int64)
      with self.session() as sess:
        for _ in range(10):
          features, _, _, _, image_ids = sess.run(batch)
          self.assertEqual(list(image_ids),
                           [int(f[0]) // 10 for f in features])

if __name__ == "__main__":
  tf.test.main()
