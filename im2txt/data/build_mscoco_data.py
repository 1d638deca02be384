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
"""Converts MSCOCO captions and images into sharded TFRecord files.

Input (the MSCOCO 2014 layout):

  train_image_dir/COCO_train2014_*.jpg   82,783 images
  val_image_dir/COCO_val2014_*.jpg       40,504 images
  captions_train2014.json, captions_val2014.json
      {"images": [{"id": int, "file_name": str, ...}, ...],
       "annotations": [{"image_id": int, "caption": str, ...}, ...]}

Split (by image, in the order of each JSON file's "images" list):

  train  all train2014 images + the first 85% of val2014   -> 256 shards
  val    the next 5% of val2014                             ->   4 shards
  test   the last 10% of val2014                            ->   8 shards

Output in output_dir: train-?????-of-00256, val-?????-of-00004,
test-?????-of-00008 (one SequenceExample per image-caption pair, schema in
im2txt/data/schema.py, pairs shuffled with seed 12345 before sharding), the
vocabulary file (word_counts.txt; format in im2txt/data/vocab_builder.py)
and build_report.json, which lists every image that was skipped or
converted and every caption that was dropped. On full MSCOCO the shards take
about 20 GB beside the 19 GB of downloaded images.

Bad input never stops the run halfway and nothing is lost silently:

* JPEGs that TensorFlow decodes (RGB, grayscale, CMYK, progressive) are
  stored byte for byte; the model decodes them with channels=3.
* Other image formats TensorFlow decodes (PNG, GIF, BMP, even when named
  .jpg) are re-encoded as RGB JPEG (quality 95) and reported as converted.
* Unreadable images (truncated or corrupt data, unknown formats, missing
  files, directories, FIFOs and other files that are not regular files,
  images of more than 50 megapixels by their header) are skipped with
  their pairs, named in the log with the decoder's reason, counted at the
  end ("N images skipped: ...") and listed in build_report.json.
* File names that lead outside the image directory ("../x", "/etc/x") are
  not read: those images are skipped and reported.
* Empty captions and captions of more than --max_caption_tokens tokens
  are dropped and reported; an image entry repeated identically is merged
  and reported.
* A captions file that is not valid MSCOCO JSON, or gives one image id to
  two file names, or shares image ids with the other file, stops the run
  before anything is written, naming the file and the problem.

Shards are written to a temporary name and renamed when complete. A rerun
in the same output_dir keeps the shards that are complete and writes only
the missing ones; its output is the same as that of an uninterrupted run.
A rerun whose captions files or settings differ from the first run's is
refused, naming what changed (see im2txt/data/mscoco_builder.py). One
builder at a time may use an output_dir; worker processes stop when the
builder is killed, and the next run removes their temporary files.
"""

import sys

from absl import flags

from im2txt.common import cli
from im2txt.common import dir_lock
from im2txt.data import caption_files
from im2txt.data import captions_metadata
from im2txt.data import mscoco_builder
from im2txt.data import schema
from im2txt.data import tokenizers

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("train_image_dir", "/tmp/train2014/",
                      "Training image directory.")
  flags.DEFINE_string("val_image_dir", "/tmp/val2014",
                      "Validation image directory.")
  flags.DEFINE_string("train_captions_file", "/tmp/captions_train2014.json",
                      "Training captions JSON file.")
  flags.DEFINE_string("val_captions_file", "/tmp/captions_val2014.json",
                      "Validation captions JSON file.")
  flags.DEFINE_string("output_dir", "/tmp/", "Output data directory.")
  flags.DEFINE_integer("train_shards", 256,
                       "Number of shards in training TFRecord files.")
  flags.DEFINE_integer("val_shards", 4,
                       "Number of shards in validation TFRecord files.")
  flags.DEFINE_integer("test_shards", 8,
                       "Number of shards in testing TFRecord files.")
  flags.DEFINE_string("start_word", schema.START_WORD,
                      "Special word added to the beginning of each sentence.")
  flags.DEFINE_string("end_word", schema.END_WORD,
                      "Special word added to the end of each sentence.")
  flags.DEFINE_integer("min_word_count", 4,
                       "The minimum number of occurrences of each word in the "
                       "training set for inclusion in the vocabulary.")
  flags.DEFINE_string("word_counts_output_file", "/tmp/word_counts.txt",
                      "Output vocabulary file of word counts.")
  flags.DEFINE_integer("max_caption_tokens",
                       captions_metadata.MAX_CAPTION_TOKENS,
                       "Captions with more tokens (start and end words "
                       "included) are dropped and reported; 0: no limit.")
  flags.DEFINE_string("split_file", "",
                      "Optional dataset_coco.json (Karpathy's split): "
                      "train + restval, val and test images as it says, "
                      "instead of the original's split of val2014.")
  flags.DEFINE_enum("input_format", "mscoco", caption_files.INPUT_FORMATS,
                    "The captions' format: 'mscoco' (the two MSCOCO files "
                    "above), 'karpathy' (dataset_flickr8k.json, "
                    "dataset_flickr30k.json or dataset_coco.json with its "
                    "splits), 'jsonl' (one {\"image\", \"caption\", "
                    "\"split\"} object per line) or 'csv' (columns image, "
                    "caption, split); the last three read --captions_file "
                    "and --image_dir.")
  cli.define_shared_flag(
      "captions_file", "With --input_format karpathy, jsonl or csv: the "
      "captions file.", __name__)
  flags.DEFINE_string("image_dir", "",
                      "With --input_format karpathy, jsonl or csv: the "
                      "folder the file's image paths are relative to.")
  flags.DEFINE_float("val_fraction", 0.05,
                     "With --input_format karpathy, jsonl or csv: the share "
                     "of the images without a split that go to val.")
  flags.DEFINE_float("test_fraction", 0.10,
                     "With --input_format karpathy, jsonl or csv: the share "
                     "of the images without a split that go to test.")
  flags.DEFINE_enum("tokenizer", tokenizers.DEFAULT_TOKENIZER,
                    tokenizers.TOKENIZERS,
                    "How captions are cut into words (after Unicode NFC "
                    "normalisation): 'nltk' (the original's English rules), "
                    "'whitespace' (at spaces, punctuation apart; languages "
                    "with spaces between words) or 'character' (one word "
                    "per character: Chinese, Japanese).")
  flags.DEFINE_boolean("lowercase", True, "Lowercase the captions.")
  flags.DEFINE_string("base_vocab_file", "",
                      "Optional word_counts.txt of an earlier build: its "
                      "words keep their ids and only new words are "
                      "appended, so that train --extend_checkpoint can "
                      "fine-tune a model of that vocabulary.")
  flags.DEFINE_integer("num_threads", 8,
                       "Number of workers to preprocess the images.")
  flags.DEFINE_enum("parallelism", "auto", mscoco_builder.PARALLELISM,
                    "How the --num_threads workers run: 'processes' (each "
                    "its own Python, about 1 s to start; scales with "
                    "cores), 'threads' of this process (the original; "
                    "Python's lock limits them), or 'auto': processes from "
                    "%d images on, else threads. The output is the same."
                    % mscoco_builder.AUTO_PROCESSES_MIN_IMAGES)


def main(unused_argv):
  try:
    mscoco_builder.build(
        train_image_dir=FLAGS.train_image_dir,
        val_image_dir=FLAGS.val_image_dir,
        train_captions_file=FLAGS.train_captions_file,
        val_captions_file=FLAGS.val_captions_file,
        output_dir=FLAGS.output_dir,
        word_counts_output_file=FLAGS.word_counts_output_file,
        train_shards=FLAGS.train_shards,
        val_shards=FLAGS.val_shards,
        test_shards=FLAGS.test_shards,
        start_word=FLAGS.start_word,
        end_word=FLAGS.end_word,
        min_word_count=FLAGS.min_word_count,
        num_threads=FLAGS.num_threads,
        parallelism=FLAGS.parallelism,
        max_caption_tokens=FLAGS.max_caption_tokens,
        split_file=FLAGS.split_file,
        input_format=FLAGS.input_format,
        captions_file=FLAGS.captions_file,
        image_dir=FLAGS.image_dir,
        tokenizer=tokenizers.Tokenizer(FLAGS.tokenizer, FLAGS.lowercase),
        val_fraction=FLAGS.val_fraction,
        test_fraction=FLAGS.test_fraction,
        base_vocab_file=FLAGS.base_vocab_file)
  except (ValueError, dir_lock.LockError) as e:
    # CaptionsFileError, SplitFileError and InputsChangedError are
    # ValueErrors.
    sys.exit("build_mscoco_data: error: %s" % e)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
