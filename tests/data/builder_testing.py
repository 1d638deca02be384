"""Shared helpers of the builder tests: tiny MSCOCO-layout inputs and a
build() into a temporary root."""

import hashlib
import io
import json
import os
import shutil
import tempfile

from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import mscoco_builder
from im2txt.data import shard_writer
from im2txt.data import schema
from tests import testing_utils


def jpeg_bytes(mode="RGB", size=(40, 30), color=(200, 20, 20), fmt="JPEG"):
  image = Image.new(mode, size, color)
  buffer = io.BytesIO()
  image.save(buffer, fmt)
  return buffer.getvalue()


def write_coco(root, split, images, captions):
  """images: list of (image_id, file_name, bytes or None); captions: list of
  (image_id, caption)."""
  image_dir = os.path.join(root, split)
  os.makedirs(image_dir, exist_ok=True)
  for _, file_name, data in images:
    if data is not None:
      with open(os.path.join(image_dir, file_name), "wb") as f:
        f.write(data)
  path = os.path.join(root, "captions_%s.json" % split)
  with open(path, "w", encoding="utf-8") as f:
    json.dump({
        "images": [{"id": i, "file_name": n} for i, n, _ in images],
        "annotations": [{"id": k, "image_id": i, "caption": c}
                        for k, (i, c) in enumerate(captions)],
    }, f, ensure_ascii=False)
  return image_dir, path


def read_split(output_dir, name, num_shards):
  records = []
  for shard in range(num_shards):
    path = os.path.join(output_dir, shard_writer.shard_name(
        name, shard, num_shards))
    records.extend(schema.parse_sequence_example_proto(r)
                   for r in tf.io.tf_record_iterator(path))
  return records


def sha256(path):
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


class BuildCase(tf.test.TestCase):
  """A temporary root, and _build() of two captions files into it."""

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)

  def _build(self, train, val, output="out", **kwargs):
    train_dir, train_json = write_coco(self.root, "train2014", *train)
    val_dir, val_json = write_coco(self.root, "val2014", *val)
    output_dir = os.path.join(self.root, output)
    args = dict(train_image_dir=train_dir, val_image_dir=val_dir,
                train_captions_file=train_json, val_captions_file=val_json,
                output_dir=output_dir,
                word_counts_output_file=os.path.join(output_dir,
                                                     "word_counts.txt"),
                train_shards=2, val_shards=1, test_shards=1, num_threads=2,
                min_word_count=1)
    args.update(kwargs)
    return mscoco_builder.build(**args), output_dir


def builder_command(paths, out, *extra):
  """(argv, env) of the builder as a subprocess on make_tiny_dataset paths."""
  return testing_utils.module_command("im2txt.data.build_mscoco_data", [
      "--train_image_dir=" + paths["train_image_dir"],
      "--val_image_dir=" + paths["val_image_dir"],
      "--train_captions_file=" + paths["train_captions_file"],
      "--val_captions_file=" + paths["val_captions_file"],
      "--output_dir=" + out, "--word_counts_output_file=" + out + "/wc.txt",
      "--val_shards=1", "--test_shards=1"] + list(extra))
