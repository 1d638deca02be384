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
once, however many captions it has) or image files (--input_files, comma-
separated patterns; the image id is the number at the end of the file name,
as in COCO_val2014_000000224477.jpg). The model is loaded once.

--output_file gets the MSCOCO results format, the best caption of each
image: [{"image_id": 224477, "caption": "a man riding a wave ..."}], ready
for score_captions. --top_k_file gets every beam's caption with its
probability. A progress line reports images/s; an image that cannot be
decoded is reported and skipped, and the exit status is then 1.

--gallery_dir also writes a caption gallery of the first
--gallery_max_images images (index.html and contact_sheet.png, see
im2txt/caption_gallery.py), with the reference captions of the records, or
of --captions_file for image files.
"""

import json
import math
import os
import re
import sys
import time

from absl import flags

from im2txt import cli
from im2txt import tf_compat  # noqa: F401

import tensorflow.compat.v1 as tf

from im2txt import caption_gallery
from im2txt import caption_metrics
from im2txt import run_inference
from im2txt.data import schema
from im2txt.inference_utils import caption_generator
from im2txt.inference_utils import inference_wrapper_base
from im2txt.inference_utils import vocabulary
from im2txt.ops import inputs

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("checkpoint_path", "",
                      "Checkpoint prefix, or a directory with a `checkpoint` "
                      "index file.")
  flags.DEFINE_string("vocab_file", "", "word_counts.txt of the model.")
  flags.DEFINE_string("input_file_pattern", "",
                      "TFRecord pattern of a split to caption.")
  flags.DEFINE_string("input_files", "",
                      "Comma-separated patterns of image files to caption.")
  flags.DEFINE_string("output_file", "", "MSCOCO results JSON to write.")
  flags.DEFINE_string("top_k_file", "",
                      "Optional JSON with every beam caption and probability.")
  flags.DEFINE_integer("max_images", 0, "Caption at most this many (0: all).")
  flags.DEFINE_integer("batch_size", 32,
                       "Images captioned together by batched beam search "
                       "(same captions as one at a time, faster).")
  flags.DEFINE_string("gallery_dir", "",
                      "Optional directory for an HTML gallery and PNG "
                      "contact sheet of the captions.")
  flags.DEFINE_integer("gallery_max_images", 100,
                       "Images shown in the gallery (the first ones).")
  flags.DEFINE_string("captions_file", "",
                      "Optional MSCOCO captions JSON with reference captions "
                      "for the gallery of --input_files.")
  run_inference.define_beam_search_flags()
  for name in ("beam_size", "max_caption_length",
               "length_normalization_factor", "model_config_file",
               "encoder_dtype"):
    flags.declare_key_flag(name)  # Listed under this binary's --help.
  flags.register_validator("output_file", bool,
                           message="--output_file is required.")


_TRAILING_NUMBER = re.compile(r"(\d+)\.[A-Za-z]+$")


def images_from_records(file_pattern):
  """Yields (image_id, encoded image) for each distinct image of a split."""
  seen = set()
  for path in inputs.match_input_files(file_pattern):
    for serialized in tf.io.tf_record_iterator(path):
      record = schema.parse_sequence_example_proto(serialized)
      if record["image_id"] not in seen:
        seen.add(record["image_id"])
        yield record["image_id"], record["image"], path


def image_files(input_files):
  """Returns ([(image_id, filename)], unmatched patterns).

  Raises:
    ValueError: If a file name has no trailing number to use as image id.
  """
  filenames, unmatched = run_inference.expand_input_files(input_files)
  items = []
  for filename in filenames:
    match = _TRAILING_NUMBER.search(os.path.basename(filename))
    if not match:
      raise ValueError("%s: no image id at the end of the file name (e.g. "
                       "COCO_val2014_000000224477.jpg)" % filename)
    items.append((int(match.group(1)), filename))
  return items, unmatched


def caption_all(sess, generator, vocab, images, log_every=50, batch_size=32):
  """Captions (image_id, encoded, name) items, batch_size images at a time.

  Batching and bad-image handling are run_inference.beam_search_in_batches'.

  Returns:
    (results, top_k, failures): results a list of {"image_id", "caption"},
    top_k a list of {"image_id", "captions": [{"caption", "p"}]}, failures a
    list of (name, problem).
  """
  results, top_k, failures = [], [], []
  start = time.time()
  next_log = log_every
  for (image_id, _, name), captions in run_inference.beam_search_in_batches(
      sess, generator, images, batch_size, lambda item: item[1]):
    if captions is None:
      failures.append((name, "image %d is not a decodable JPEG" % image_id))
      continue
    beams = [{"caption": " ".join(run_inference.caption_words(c, vocab)),
              "p": math.exp(c.logprob)} for c in captions]
    results.append({"image_id": image_id, "caption": beams[0]["caption"]})
    top_k.append({"image_id": image_id, "captions": beams})
    if len(results) >= next_log:
      next_log += log_every
      tf.logging.info("Captioned %d images (%.1f images/s)", len(results),
                      len(results) / (time.time() - start))
  elapsed = time.time() - start
  tf.logging.info("Captioned %d images in %.1f s (%.1f images/s)",
                  len(results), elapsed, len(results) / max(elapsed, 1e-9))
  return results, top_k, failures


def _keep_first(images, n, kept):
  """Passes images through, keeping the first n's (name, bytes) in `kept`."""
  for image_id, encoded, name in images:
    if len(kept) < n:
      kept[image_id] = (name, encoded)
    yield image_id, encoded, name


def main(unused_argv):
  failures = []
  try:
    if bool(FLAGS.input_file_pattern) == bool(FLAGS.input_files):
      raise ValueError("Give exactly one of --input_file_pattern and "
                       "--input_files.")
    g, model, restore_fn, vocab, _ = run_inference.load_model(
        FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.model_config_file,
        FLAGS.encoder_dtype)
    generator = caption_generator.CaptionGenerator(
        model, vocab, beam_size=FLAGS.beam_size,
        max_caption_length=FLAGS.max_caption_length,
        length_normalization_factor=FLAGS.length_normalization_factor)
    if FLAGS.input_file_pattern:
      images = images_from_records(FLAGS.input_file_pattern)
    else:
      items, unmatched = image_files(FLAGS.input_files)
      failures.extend((p, "no file matches this pattern") for p in unmatched)

      image_ids = {filename: image_id for image_id, filename in items}
      images = ((image_ids[filename], data, filename)
                for filename, data in run_inference.read_image_files(
                    [filename for _, filename in items], failures))
  except (run_inference.InferenceSetupError,
          inference_wrapper_base.CheckpointNotFoundError,
          vocabulary.VocabularyFileError, ValueError) as e:
    sys.exit("caption_images: error: %s" % e)

  if FLAGS.max_images:
    images = (x for i, x in enumerate(images) if i < FLAGS.max_images)
  kept = {}  # image_id -> (name, encoded image) of the gallery's images.
  if FLAGS.gallery_dir:
    images = _keep_first(images, FLAGS.gallery_max_images, kept)
  with tf.Session(graph=g) as sess:
    restore_fn(sess)
    results, top_k, more_failures = caption_all(
        sess, generator, vocab, images, batch_size=FLAGS.batch_size)
  failures.extend(more_failures)

  with open(FLAGS.output_file, "w", encoding="utf-8") as f:
    json.dump(results, f, ensure_ascii=False)
  if FLAGS.top_k_file:
    with open(FLAGS.top_k_file, "w", encoding="utf-8") as f:
      json.dump(top_k, f, ensure_ascii=False, indent=1)
  print("Wrote %d captions to %s" % (len(results), FLAGS.output_file))
  if FLAGS.gallery_dir:
    try:
      references = {}
      if FLAGS.input_file_pattern:
        references = caption_metrics.references_from_records(
            FLAGS.input_file_pattern)
      elif FLAGS.captions_file:
        references = caption_metrics.references_from_captions_json(
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
  for name, problem in failures:
    print("caption_images: error: %s: %s" % (name, problem), file=sys.stderr)
  if failures:
    print("caption_images: %d inputs failed" % len(failures), file=sys.stderr)
    sys.exit(1)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
