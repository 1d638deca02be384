"""Tests of the builder's image checks: Pillow's fast verdict against
TensorFlow's decoder, and a builder that never imports TensorFlow."""

import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import demo_data
from im2txt.data import image_checks
from tests import testing_utils


def _jpeg(rng, progressive=False, mode="RGB"):
  pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
  buffer = io.BytesIO()
  Image.fromarray(pixels).convert(mode).save(buffer, "JPEG", quality=90,
                                             progressive=progressive)
  return buffer.getvalue()


class _TensorFlowJpeg(object):
  """TensorFlow's JPEG decoder as the training input pipeline runs it."""

  def __init__(self):
    graph = tf.Graph()
    with graph.as_default():
      self._data = tf.placeholder(tf.string, [])
      self._image = tf.image.decode_jpeg(self._data, channels=3)
    self._sess = tf.Session(graph=graph)

  def decodes(self, data):
    try:
      self._sess.run(self._image, {self._data: data})
      return True
    except tf.errors.OpError:
      return False


class PillowVerdictTest(tf.test.TestCase):

  def testNeverAcceptsWhatTensorFlowRefuses(self):
    # Baseline and progressive JPEGs, RGB and grayscale, damaged three ways:
    # bytes overwritten, cut short, bytes inserted. Pillow alone accepts
    # some that TensorFlow refuses (a lost end marker); with the marker walk
    # the fast verdict is never "good" where TensorFlow's is "bad".
    rng = np.random.default_rng(0)
    r = random.Random(1)
    decoder = _TensorFlowJpeg()
    counts = {"both good": 0, "both bad": 0, "tensorflow only": 0}
    pillow_only = []
    for trial in range(1200):
      data = bytearray(_jpeg(rng, progressive=trial % 2 == 1,
                             mode="RGB" if trial % 5 else "L"))
      kind = trial % 3
      if kind == 0:
        for _ in range(r.randint(1, 8)):
          data[r.randrange(2, len(data))] = r.randrange(256)
      elif kind == 1:
        data = data[:r.randrange(4, len(data))]
      else:
        i = r.randrange(2, len(data))
        data[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 20)))
      data = bytes(data)
      fast, slow = image_checks.pillow_decodes_jpeg(data), decoder.decodes(data)
      if fast and not slow:
        pillow_only.append(trial)
      else:
        counts["both good" if fast else "tensorflow only" if slow else
               "both bad"] += 1
    self.assertEqual(pillow_only, [])
    # The damage is varied enough to exercise both verdicts.
    self.assertGreater(counts["both good"], 100)
    self.assertGreater(counts["both bad"], 100)

  def testCleanImagesNeedNoTensorFlowSession(self):
    rng = np.random.default_rng(1)
    decoder = image_checks.ImageDecoder()
    for mode in ("RGB", "L"):
      data = _jpeg(rng, mode=mode)
      self.assertEqual(decoder.prepare(data), (data, False))
    self.assertIsNone(decoder._sess)  # pylint: disable=protected-access
    # A lost end marker: Pillow would decode it; TensorFlow decides.
    with self.assertRaisesRegex(image_checks.BadImageError,
                                "invalid JPEG data"):
      decoder.prepare(_jpeg(rng)[:-2])
    self.assertIsNotNone(decoder._sess)  # pylint: disable=protected-access
    decoder.close()

  def testMarkerWalk(self):
    data = _jpeg(np.random.default_rng(2), progressive=True)
    self.assertTrue(image_checks.jpeg_reaches_end_marker(data))
    self.assertTrue(image_checks.jpeg_reaches_end_marker(data + b"\0" * 9))
    self.assertFalse(image_checks.jpeg_reaches_end_marker(data[:-2]))
    self.assertFalse(image_checks.jpeg_reaches_end_marker(data[:100]))
    self.assertFalse(image_checks.jpeg_reaches_end_marker(b"\xff\xd8"))


def _imports_of_build(paths, out, parallelism):
  """Runs the builder's command line under `python -X importtime` (which
  spawned workers inherit); returns (output, {module: times imported})."""
  result = subprocess.run(
      [sys.executable, "-X", "importtime", "-m",
       "im2txt.data.build_mscoco_data", "--output_dir=" + out,
       "--word_counts_output_file=" + os.path.join(out, "wc.txt"),
       "--train_shards=2", "--val_shards=1", "--test_shards=1",
       "--num_threads=2", "--parallelism=" + parallelism] +
      ["--%s=%s" % kv for kv in sorted(paths.items())],
      env=dict(os.environ, PYTHONPATH=testing_utils.REPO_ROOT),
      capture_output=True, text=True, timeout=300, check=False)
  if result.returncode:
    raise AssertionError(result.stderr[-3000:])
  counts = {}
  for name in re.findall(r"^import time:.*\|\s*(\S+)\s*$", result.stderr,
                         re.MULTILINE):
    counts[name] = counts.get(name, 0) + 1
  return result.stdout, counts


class BuilderWithoutTensorFlowTest(tf.test.TestCase):

  def testBuilderAndWorkersNeverImportTensorFlowOnCleanJpegs(self):
    root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, root)
    paths = demo_data.generate(os.path.join(root, "raw"),
                               num_train_images=12, num_val_images=20,
                               image_size=(64, 48), seed=3)
    outputs = {}
    for parallelism, processes in (("threads", 1), ("processes", 3)):
      out = os.path.join(root, parallelism)
      _, imports = _imports_of_build(paths, out, parallelism)
      # The builder and, with processes, its two workers: none imports
      # TensorFlow.
      self.assertEqual(imports.get("im2txt.data.shard_writer"), processes)
      self.assertNotIn("tensorflow", imports)
      outputs[parallelism] = out
    for name in sorted(os.listdir(outputs["threads"])):
      if name.startswith(("train-", "val-", "test-")) or name == "wc.txt":
        with open(os.path.join(outputs["threads"], name), "rb") as a, open(
            os.path.join(outputs["processes"], name), "rb") as b:
          self.assertEqual(a.read(), b.read(), name)

    # A PNG named .jpg needs TensorFlow's encoder: imported then.
    first = sorted(os.listdir(paths["train_image_dir"]))[0]
    png = os.path.join(paths["train_image_dir"], first)
    Image.open(png).save(png, "PNG")
    stdout, imports = _imports_of_build(paths, os.path.join(root, "png"),
                                        "threads")
    self.assertIn("tensorflow", imports)
    self.assertIn("1 images converted to RGB JPEG: %s" % png, stdout)


if __name__ == "__main__":
  tf.test.main()
