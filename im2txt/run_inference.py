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
r"""Generates captions for images with a trained Show and Tell model.

  run_inference --checkpoint_path=${MODEL_DIR}/train \
    --vocab_file=${MSCOCO_DIR}/word_counts.txt \
    --input_files=${IMAGE_FILE}

--checkpoint_path is a checkpoint prefix (train/model.ckpt-2000) or a
directory holding a `checkpoint` index file (its latest checkpoint is used).
--input_files is a comma-separated list of file patterns. The model is built
and restored once; each image prints

  Captions for image NAME:
    0) words of the best caption (p=0.040413)
    ...

where p is the caption's probability (end word included). The model
configuration is read from model_config.json beside the checkpoint when it
exists (train writes it), else the defaults. An image that cannot be read or
decoded is reported on stderr and the others are still captioned; the exit
status is 1 if any input failed.

--frozen_graph_file=FILE captions from a frozen graph (export_saved_model
--frozen_graph_file) instead of a checkpoint: the same output.

--batch_size=N (default 1, the original's one image at a time) captions N
images at once with batched beam search: the same captions and output,
faster.
"""

import os
import sys

from absl import flags

from im2txt.common import cli

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.common import checkpoints
from im2txt.inference_utils import caption_generator

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_shared_flag(
      "input_files",
      "File pattern or comma-separated list of file patterns "
      "of image files.",
      __name__)
  cli.define_shared_flag(
      "frozen_graph_file",
      "A frozen inference graph (export_saved_model "
      "--frozen_graph_file) to caption with instead of "
      "--checkpoint_path.",
      __name__)
  cli.define_shared_flag(
      "batch_size",
      "Images captioned together by batched beam search "
      "(same output; 1 = one at a time).",
      __name__, default=1)
  cli.define_captioning_flags(__name__)


def main(unused_argv):
  tf.logging.set_verbosity(tf.logging.INFO)
  try:
    if FLAGS.frozen_graph_file:
      if FLAGS.checkpoint_path:
        raise ValueError("--frozen_graph_file holds the weights; pass it "
                         "or --checkpoint_path, not both.")
      g, model, restore_fn, vocab, _ = captioner.load_frozen_graph(
          FLAGS.frozen_graph_file, FLAGS.vocab_file)
    else:
      g, model, restore_fn, vocab, _ = captioner.load_model(
          FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.model_config_file,
          FLAGS.encoder_dtype)
    generator = caption_generator.CaptionGenerator(
        model, vocab, beam_size=FLAGS.beam_size,
        max_caption_length=FLAGS.max_caption_length,
        length_normalization_factor=FLAGS.length_normalization_factor)
  except captioner.SETUP_ERRORS as e:
    sys.exit("run_inference: error: %s" % e)

  filenames, unmatched = captioner.expand_input_files(FLAGS.input_files)
  failures = []
  for pattern in unmatched:
    failures.append((pattern, "no file matches this pattern"))
  tf.logging.info("Running caption generation on %d files matching %s",
                  len(filenames), FLAGS.input_files)

  with tf.Session(graph=g) as sess:
    try:
      restore_fn(sess)
    except checkpoints.CheckpointFault as e:
      sys.exit("run_inference: error: cannot restore the checkpoint %s" % e)
    images = captioner.read_image_files(filenames, failures)
    for (filename, _), captions in captioner.beam_search_in_batches(
        sess, generator, images, FLAGS.batch_size, lambda item: item[1]):
      if captions is None:
        failures.append((filename, "not a decodable JPEG image"))
        continue
      print("\n".join(captioner.format_captions(
          os.path.basename(filename), captions, vocab)), flush=True)

  for name, problem in failures:
    print("run_inference: error: %s: %s" % (name, problem), file=sys.stderr)
  if failures:
    print("run_inference: %d of %d inputs failed" %
          (len(failures), len(filenames) + len(unmatched)), file=sys.stderr)
    sys.exit(1)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
