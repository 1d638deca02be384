# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
r"""Captions many images and writes MSCOCO results files.

  caption_images --checkpoint_path=${MODEL_DIR}/train \
    --vocab_file=${MSCOCO_DIR}/word_counts.txt \
    --input_file_pattern="${MSCOCO_DIR}/test-?????-of-00008" \
    --output_file=results.json --top_k_file=top_k.json

Input is either the records of a split (--input_file_pattern; each image
once, however many captions it has), image files (--input_files, comma-
separated patterns; the image id is the number at the end of the file name,
as in COCO_val2014_000000224477.jpg), or cache_features' shards of a split
(--features_file_pattern: the same captions without running the encoder,
when the checkpoint's encoder made the features; see
im2txt/captioning/feature_captioner.py). The model is loaded once.

--output_file gets the MSCOCO results format, the best caption of each
image: [{"image_id": 224477, "caption": "a man riding a wave ..."}], ready
for score_captions. --top_k_file gets every beam's caption with its
probability. A progress line reports images/s; an image that cannot be
decoded is reported and skipped, and the exit status is then 1.

--gallery_dir also writes a caption gallery of the first
--gallery_max_images images (index.html and contact_sheet.png, see
im2txt/captioning/caption_gallery.py), with the reference captions of the
records, or of --captions_file for image files.
"""

import json
import sys

from absl import flags

from im2txt.common import cli
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.captioning import caption_gallery
from im2txt.evaluation import caption_metrics
from im2txt.captioning import captioner
from im2txt.captioning import feature_captioner
from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.data import records
from im2txt.inference_utils import caption_generator
from im2txt.ops import inputs as input_ops

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_shared_flag(
      "input_file_pattern",
      "TFRecord pattern of a split to caption.",
      __name__)
  cli.define_shared_flag(
      "input_files",
      "Comma-separated patterns of image files to caption.",
      __name__)
  flags.DEFINE_string(
      "features_file_pattern", "",
      "Or: cache_features' shards of a split (crop 0 is each image's "
      "inference preprocessing): the checkpoint's captions of those images "
      "without running its encoder. Needs a checkpoint whose encoder made "
      "the features (checked).")
  cli.define_shared_flag(
      "output_file",
      "MSCOCO results JSON to write.",
      __name__)
  flags.DEFINE_string("top_k_file", "",
                      "Optional JSON with every beam caption and probability.")
  flags.DEFINE_integer("max_images", 0, "Caption at most this many (0: all).")
  cli.define_shared_flag(
      "batch_size",
      "Images captioned together by batched beam search "
      "(same captions as one at a time, faster).",
      __name__, default=32)
  flags.DEFINE_string("gallery_dir", "",
                      "Optional directory for an HTML gallery and PNG "
                      "contact sheet of the captions.")
  flags.DEFINE_integer("gallery_max_images", 100,
                       "Images shown in the gallery (the first ones).")
  cli.define_shared_flag(
      "captions_file",
      "Optional MSCOCO captions JSON with reference captions "
      "for the gallery of --input_files.",
      __name__)
  cli.define_captioning_flags(__name__)
  flags.register_validator("output_file", bool,
                           message="--output_file is required.")


def _keep_first(images, n, kept):
  """Passes (image_id, encoded, name) items through, keeping the first n's
  (name, bytes) in `kept` (image_id -> (name, bytes))."""
  for image_id, encoded, name in images:
    if len(kept) < n:
      kept[image_id] = (name, encoded)
    yield image_id, encoded, name


def _images(input_file_pattern, input_files, failures):
  """The (image_id, encoded image, name) items of the flags' input."""
  if input_file_pattern:
    return captioner.images_from_records(input_file_pattern)
  items, unmatched = captioner.image_files_with_ids(input_files)
  failures.extend((p, "no file matches this pattern") for p in unmatched)
  image_ids = {filename: image_id for image_id, filename in items}
  return ((image_ids[filename], data, filename)
          for filename, data in captioner.read_image_files(
              [filename for _, filename in items], failures))


def _references(input_file_pattern, captions_file):
  """The gallery's reference captions: image_id -> [captions]."""
  if input_file_pattern:
    return caption_metrics.references_from_records(input_file_pattern)
  if captions_file:
    return caption_metrics.references_from_captions_json(captions_file)
  return {}


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  failures = []
  try:
    if sum(bool(x) for x in (FLAGS.input_file_pattern, FLAGS.input_files,
                             FLAGS.features_file_pattern)) != 1:
      raise ValueError("Give exactly one of --input_file_pattern, "
                       "--input_files and --features_file_pattern.")
    if FLAGS.features_file_pattern and "," in FLAGS.checkpoint_path:
      raise ValueError("--features_file_pattern holds one encoder's "
                       "outputs: caption it with one checkpoint, not an "
                       "ensemble.")
    if FLAGS.features_file_pattern and FLAGS.gallery_dir:
      raise ValueError("--gallery_dir shows the images, which feature "
                       "shards do not hold: caption --input_file_pattern "
                       "for a gallery.")
    # Before hours of captioning, not after.
    for path in (FLAGS.output_file, FLAGS.top_k_file):
      if path:
        file_io.check_writable_location(path)
    g, model, restore_fn, vocab, checkpoint = captioner.load_model(
        FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.model_config_file,
        FLAGS.encoder_dtype)
    generator = caption_generator.CaptionGenerator(
        model, vocab, beam_size=FLAGS.beam_size,
        max_caption_length=FLAGS.max_caption_length,
        length_normalization_factor=FLAGS.length_normalization_factor)
    if FLAGS.features_file_pattern:
      feature_captioner.check_encoder(
          FLAGS.features_file_pattern, checkpoint,
          checkpoints.model_config_for(checkpoint, FLAGS.model_config_file))
      images = feature_captioner.features_of_split(
          FLAGS.features_file_pattern)
    else:
      images = _images(FLAGS.input_file_pattern, FLAGS.input_files,
                       failures)
  except captioner.SETUP_ERRORS + (OSError,) as e:
    sys.exit("caption_images: error: %s" % e)

  if FLAGS.max_images:
    images = (x for i, x in enumerate(images) if i < FLAGS.max_images)
  kept = {}  # image_id -> (name, encoded image) of the gallery's images.
  if FLAGS.gallery_dir:
    images = _keep_first(images, FLAGS.gallery_max_images, kept)
  try:
    with tf.Session(graph=g) as sess:
      restore_fn(sess)
      if FLAGS.features_file_pattern:
        results, top_k = feature_captioner.caption_features(
            sess, generator, vocab, list(images), FLAGS.batch_size)
        more_failures = []
      else:
        results, top_k, more_failures = captioner.caption_all(
            sess, generator, vocab, images, batch_size=FLAGS.batch_size)
  except (records.RecordReadError, input_ops.NoInputFilesError) as e:
    sys.exit("caption_images: error: %s" % e)
  except checkpoints.CheckpointFault as e:
    sys.exit("caption_images: error: cannot restore the checkpoint %s" % e)
  failures.extend(more_failures)
  if not results:
    # Nothing to write: an earlier results file stays as it was.
    _report(failures)
    sys.exit("caption_images: error: no image was captioned; %s was not "
             "written" % FLAGS.output_file)

  file_io.write_atomically(FLAGS.output_file,
                           json.dumps(results, ensure_ascii=False))
  if FLAGS.top_k_file:
    file_io.write_atomically(FLAGS.top_k_file,
                             json.dumps(top_k, ensure_ascii=False, indent=1))
  print("Wrote %d captions to %s" % (len(results), FLAGS.output_file))
  if FLAGS.gallery_dir:
    try:
      references = _references(FLAGS.input_file_pattern,
                               FLAGS.captions_file)
    except caption_metrics.MetricsError as e:
      sys.exit("caption_images: error: %s" % e)
    entries = [caption_gallery.GalleryEntry(
        image_id=item["image_id"], name=kept[item["image_id"]][0],
        encoded_image=kept[item["image_id"]][1],
        captions=[(c["caption"], c["p"]) for c in item["captions"]],
        references=references.get(item["image_id"], []))
               for item in top_k if item["image_id"] in kept]
    index = caption_gallery.write_gallery(FLAGS.gallery_dir, entries)
    print("Wrote a gallery of %d images to %s" % (len(entries), index))
  _report(failures)
  if failures:
    sys.exit(1)


def _report(failures):
  """Prints each failed input, and their number."""
  for name, problem in failures:
    print("caption_images: error: %s: %s" % (name, problem), file=sys.stderr)
  if failures:
    print("caption_images: %d inputs failed" % len(failures), file=sys.stderr)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
