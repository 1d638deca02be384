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

--batch_size=N (default 1, the original's one image at a time) captions N
images at once with batched beam search: the same captions and output,
faster.
"""

import math
import os
import sys

from absl import flags

from im2txt import cli

from im2txt import tf_compat  # noqa: F401

import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt import inference_wrapper
from im2txt import training_checks
from im2txt.inference_utils import caption_generator
from im2txt.inference_utils import inference_wrapper_base
from im2txt.inference_utils import vocabulary

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("checkpoint_path", "",
                      "Model checkpoint file or directory containing a "
                      "model checkpoint file.")
  flags.DEFINE_string("vocab_file", "", "Text file containing the vocabulary.")
  flags.DEFINE_string("input_files", "",
                      "File pattern or comma-separated list of file patterns "
                      "of image files.")
  flags.DEFINE_integer("batch_size", 1,
                       "Images captioned together by batched beam search "
                       "(same output; 1 = one at a time).")
  define_beam_search_flags()


def define_beam_search_flags():
  """Flags of the beam search and model config, shared with caption_images."""
  flags.DEFINE_integer("beam_size", 3, "Beam size of the caption search.")
  flags.DEFINE_integer("max_caption_length", 20,
                       "Maximum caption length in words, start and end words "
                       "included.")
  flags.DEFINE_float("length_normalization_factor", 0.0,
                     "If > 0, complete captions are scored "
                     "logprob / length**factor (favours longer captions).")
  flags.DEFINE_string("model_config_file", "",
                      "Optional ModelConfig JSON; default: model_config.json "
                      "beside the checkpoint, else the built-in defaults.")
  cli.define_encoder_dtype_flag(__name__)


tf.logging.set_verbosity(tf.logging.INFO)


class InferenceSetupError(ValueError):
  """The checkpoint, vocabulary or configuration cannot be used together."""


def expand_input_files(input_files):
  """Returns (filenames, patterns that matched nothing)."""
  filenames, unmatched = [], []
  for file_pattern in input_files.split(","):
    if not file_pattern:
      continue
    matches = tf.gfile.Glob(file_pattern)
    if not matches:
      unmatched.append(file_pattern)
    filenames.extend(matches)
  return filenames, unmatched


def read_image_files(filenames, failures):
  """Yields (filename, bytes); appends (filename, problem) for unreadable ones."""
  for filename in filenames:
    try:
      with tf.gfile.GFile(filename, "rb") as f:
        data = f.read()
    except (tf.errors.OpError, IOError) as e:
      failures.append((filename, "cannot read file (%s)"
                       % getattr(e, "message", e)))
      continue
    yield filename, data


def _chunks(items, size):
  chunk = []
  for item in items:
    chunk.append(item)
    if len(chunk) == size:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


def beam_search_in_batches(sess, generator, items, batch_size, encoded_of):
  """Captions items batch_size at a time; yields (item, captions) in order.

  A batch goes through generator.beam_search_batch (one image alone through
  beam_search, the original path); a batch holding an undecodable image is
  redone one image at a time, so that only that image fails: its captions
  are None.

  Args:
    sess: The session of the inference graph.
    generator: A CaptionGenerator.
    items: Iterable of anything; encoded_of(item) gives the image bytes.
    batch_size: Images per batch (at least 1).
    encoded_of: Function item -> encoded image.
  """
  for chunk in _chunks(items, max(1, batch_size)):
    try:
      if len(chunk) == 1:
        all_captions = [generator.beam_search(sess, encoded_of(chunk[0]))]
      else:
        all_captions = generator.beam_search_batch(
            sess, [encoded_of(item) for item in chunk])
    except tf.errors.InvalidArgumentError:
      all_captions = []
      for item in chunk:
        try:
          all_captions.append(generator.beam_search(sess, encoded_of(item)))
        except tf.errors.InvalidArgumentError:
          all_captions.append(None)
    for item, captions in zip(chunk, all_captions):
      yield item, captions


def caption_words(caption, vocab):
  """The words of a caption, without the start word and any end word."""
  ids = caption.sentence[1:]
  if ids and ids[-1] == vocab.end_id:
    ids = ids[:-1]
  return [vocab.id_to_word(w) for w in ids]


def format_captions(name, captions, vocab):
  """Returns the lines run_inference prints for one image."""
  lines = ["Captions for image %s:" % name]
  for i, caption in enumerate(captions):
    sentence = " ".join(caption_words(caption, vocab))
    lines.append("  %d) %s (p=%f)" % (i, sentence, math.exp(caption.logprob)))
  return lines


def load_model(checkpoint_path, vocab_file, model_config_file="",
               encoder_dtype="float32"):
  """Builds the inference graph and checks it against checkpoint and vocab.

  encoder_dtype: "float32" or "bfloat16", the arithmetic of the encoder.

  Returns:
    (graph, model wrapper, restore_fn, vocabulary, resolved checkpoint path)

  Raises:
    InferenceSetupError, inference_wrapper_base.CheckpointNotFoundError or
    vocabulary.VocabularyFileError, with messages naming the file.
  """
  checkpoint = inference_wrapper_base.resolve_checkpoint_path(checkpoint_path)
  model_config = configuration.model_config_for_checkpoint(
      checkpoint_path, model_config_file)
  vocab = vocabulary.Vocabulary(vocab_file)
  if len(vocab) > model_config.vocab_size:
    raise InferenceSetupError(
        "Vocabulary %s has %d words (with <UNK>) but the model of %s has "
        "vocab_size %d: it is not the vocabulary this model was trained "
        "with." % (vocab_file, len(vocab), checkpoint, model_config.vocab_size))

  g = tf.Graph()
  with g.as_default():
    model = inference_wrapper.InferenceWrapper(encoder_dtype)
    restore_fn = model.build_graph_from_config(model_config, checkpoint)
    try:
      training_checks.check_checkpoint_has_variables(checkpoint,
                                                     tf.global_variables())
    except training_checks.CheckpointMismatchError as e:
      raise InferenceSetupError(
          "%s Was it trained with another model configuration? Put its "
          "model_config.json beside it or pass --model_config_file." % e)
  g.finalize()
  return g, model, restore_fn, vocab, checkpoint


def main(unused_argv):
  try:
    g, model, restore_fn, vocab, _ = load_model(
        FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.model_config_file,
        FLAGS.encoder_dtype)
    generator = caption_generator.CaptionGenerator(
        model, vocab, beam_size=FLAGS.beam_size,
        max_caption_length=FLAGS.max_caption_length,
        length_normalization_factor=FLAGS.length_normalization_factor)
  except (InferenceSetupError, inference_wrapper_base.CheckpointNotFoundError,
          vocabulary.VocabularyFileError, ValueError) as e:
    sys.exit("run_inference: error: %s" % e)

  filenames, unmatched = expand_input_files(FLAGS.input_files)
  failures = []
  for pattern in unmatched:
    failures.append((pattern, "no file matches this pattern"))
  tf.logging.info("Running caption generation on %d files matching %s",
                  len(filenames), FLAGS.input_files)

  with tf.Session(graph=g) as sess:
    restore_fn(sess)
    images = read_image_files(filenames, failures)
    for (filename, _), captions in beam_search_in_batches(
        sess, generator, images, FLAGS.batch_size, lambda item: item[1]):
      if captions is None:
        failures.append((filename, "not a decodable JPEG image"))
        continue
      print("\n".join(format_captions(os.path.basename(filename), captions,
                                      vocab)), flush=True)

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
