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
"""Captioning images with a trained Show and Tell model: the library.

run_inference, caption_images, evaluate's caption metrics and the benchmarks
all caption through this module:

* ``load_model``: the inference graph of a checkpoint, built from the model
  config saved beside it, checked against the checkpoint's variables and
  against the vocabulary (one rule, vocabulary.check_fits_model);
* ``build_inference_graph``: the graph alone, for callers that restore
  several checkpoints into it (caption_evaluation);
* ``load_frozen_graph``: the same from a frozen GraphDef
  (export_saved_model --frozen_graph_file);
* image sources: ``expand_input_files`` / ``read_image_files`` for image
  files, ``image_files_with_ids`` for MSCOCO-named files,
  ``images_from_records`` for the distinct images of a split's records;
* ``beam_search_in_batches``: batched beam search over a stream of images,
  where a batch holding an undecodable image is redone one image at a time;
* ``caption_words`` / ``format_captions``: word ids to caption text, and
  the original's output lines;
* ``caption_all``: all of it for a stream of (image_id, image, name) items,
  in the MSCOCO results format.
"""

import collections
from concurrent import futures
import math
import os
import re
import time

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt.captioning import ensemble
from im2txt import inference_wrapper
from im2txt import show_and_tell_model
from im2txt.data import image_checks
from im2txt.data import records
from im2txt.inference_utils import vocabulary
from im2txt.ops import inputs as input_ops


class InferenceSetupError(ValueError):
  """The checkpoint, vocabulary or configuration cannot be used together."""


# What load_model returns; unpacks as the 5-tuple it always was.
LoadedModel = collections.namedtuple(
    "LoadedModel", ["graph", "model", "restore_fn", "vocab", "checkpoint"])

# The MSCOCO image id at the end of a file name: COCO_val2014_000000224477.jpg.
_TRAILING_NUMBER = re.compile(r"(\d+)\.[A-Za-z]+$")


def load_vocabulary(vocab_file, model_config, model_description):
  """Reads a vocabulary and checks that it fits the model.

  Args:
    vocab_file: word_counts.txt.
    model_config: The model's ModelConfig.
    model_description: What the model is (a checkpoint path), for errors.

  Returns:
    A vocabulary.Vocabulary.

  Raises:
    vocabulary.VocabularyFileError: If the file cannot be read.
    vocabulary.VocabularyMismatchError: If it has more ids than the model.
  """
  vocab = vocabulary.Vocabulary(vocab_file)
  vocabulary.check_fits_model(
      vocab_file, len(vocab), model_config.vocab_size, model_description,
      "It is not the vocabulary this model was trained with.")
  return vocab


def build_inference_graph(model_config, encoder_dtype="float32"):
  """Builds the inference-mode model in a new graph.

  Args:
    model_config: A ModelConfig.
    encoder_dtype: "float32" or "bfloat16", the arithmetic of the encoder.

  Returns:
    (graph, InferenceWrapper, Saver over all variables); the graph is not
    finalized, so that callers may add ops.
  """
  g = tf.Graph()
  with g.as_default():
    model = inference_wrapper.InferenceWrapper(encoder_dtype)
    model.build_model(model_config)
    saver = tf.train.Saver()
  return g, model, saver


def check_checkpoint_fits(checkpoint, variables, shapes=None):
  """Checks that a checkpoint holds a graph's variables with their shapes
  (`shapes`: its checkpoints.variable_shapes, if already read).

  Raises:
    InferenceSetupError: If not; the message suggests the model config.
    legacy_checkpoints.LegacyCheckpointError: For an older TensorFlow's
      checkpoint (the converter's command named).
  """
  try:
    checkpoints.check_has_variables(checkpoint, variables, shapes)
  except checkpoints.CheckpointMismatchError as e:
    raise InferenceSetupError(
        "%s Was it trained with another model configuration? Put its "
        "model_config.json beside it or pass --model_config_file." % e)


def load_model(checkpoint_path, vocab_file, model_config_file="",
               encoder_dtype="float32"):
  """Builds the inference graph and checks it against checkpoint and vocab.

  Args:
    checkpoint_path: A checkpoint prefix, or a directory holding a
      `checkpoint` index file (its latest checkpoint is used); several,
      comma-separated, make an ensemble (im2txt/captioning/ensemble.py).
    vocab_file: word_counts.txt of the model.
    model_config_file: Optional ModelConfig JSON; default: the
      model_config.json train saved beside the checkpoint, else defaults.
      (For an ensemble: of every member.)
    encoder_dtype: "float32" or "bfloat16", the arithmetic of the encoder.

  Returns:
    A LoadedModel (graph, model wrapper, restore_fn, vocabulary, resolved
    checkpoint prefix, comma-separated for an ensemble); the graph is
    finalized.

  Raises:
    InferenceSetupError, checkpoints.CheckpointNotFoundError,
    vocabulary.VocabularyFileError or vocabulary.VocabularyMismatchError,
    with messages naming the file.
  """
  if "," in checkpoint_path:
    return _load_ensemble(checkpoint_path.split(","), vocab_file,
                          model_config_file, encoder_dtype)
  checkpoint = checkpoints.resolve(checkpoint_path)
  model_config = checkpoints.model_config_for(checkpoint, model_config_file)
  vocab = load_vocabulary(vocab_file, model_config, checkpoint)
  g, model, saver = build_inference_graph(model_config, encoder_dtype)
  with g.as_default():
    check_checkpoint_fits(checkpoint, tf.global_variables())
  g.finalize()

  def restore_fn(sess):
    tf.logging.info("Loading model from checkpoint: %s", checkpoint)
    checkpoints.restore(saver, sess, checkpoint)
    tf.logging.info("Successfully loaded checkpoint: %s",
                    os.path.basename(checkpoint))

  return LoadedModel(g, model, restore_fn, vocab, checkpoint)


def _load_ensemble(checkpoint_paths, vocab_file, model_config_file,
                   encoder_dtype):
  """load_model for several checkpoints: one graph, one member each.

  Raises:
    InferenceSetupError: If a path is empty, or the members' vocab_size
      differ (both named); otherwise as load_model for each member.
  """
  if not all(checkpoint_paths):
    raise InferenceSetupError(
        "Empty entry in the comma-separated checkpoint list %r."
        % ",".join(checkpoint_paths))
  members = [checkpoints.resolve(path) for path in checkpoint_paths]
  configs = [checkpoints.model_config_for(c, model_config_file)
             for c in members]
  for member, config in zip(members[1:], configs[1:]):
    if config.vocab_size != configs[0].vocab_size:
      raise InferenceSetupError(
          "Ensemble members must share the vocabulary: %s has vocab_size "
          "%d, %s has %d." % (members[0], configs[0].vocab_size, member,
                              config.vocab_size))
  vocab = load_vocabulary(vocab_file, configs[0], members[0])
  g = tf.Graph()
  with g.as_default():
    model = ensemble.EnsembleWrapper(encoder_dtype)
    var_maps = model.build_members(configs)
    savers = []
    for member, var_map in zip(members, var_maps):
      check_checkpoint_fits(member, var_map)
      savers.append(tf.train.Saver(var_map))
  g.finalize()

  def restore_fn(sess):
    for member, saver in zip(members, savers):
      tf.logging.info("Loading ensemble member from checkpoint: %s", member)
      checkpoints.restore(saver, sess, member)
    tf.logging.info("Successfully loaded %d checkpoints", len(members))

  return LoadedModel(g, model, restore_fn, vocab, ",".join(members))


def load_frozen_graph(graph_file, vocab_file):
  """Imports a frozen inference graph (export_saved_model
  --frozen_graph_file) and checks it against the vocabulary.

  Args:
    graph_file: The binary GraphDef.
    vocab_file: word_counts.txt of the model.

  Returns:
    A LoadedModel whose restore_fn does nothing and whose checkpoint is
    graph_file; the graph is finalized.

  Raises:
    InferenceSetupError: If the file is missing, not a GraphDef, or lacks
      the inference graph's tensors; vocabulary errors as load_model.
  """
  if not tf.gfile.Exists(graph_file):
    raise InferenceSetupError("Frozen graph %s not found." % graph_file)
  g = tf.Graph()
  with g.as_default():
    model = inference_wrapper.InferenceWrapper()
    try:
      restore_fn = model.build_graph_from_proto(graph_file)
    except ValueError as e:
      raise InferenceSetupError(str(e))
    try:
      softmax = g.get_tensor_by_name(show_and_tell_model.SOFTMAX)
      for name in (show_and_tell_model.IMAGE_FEED,
                   show_and_tell_model.IMAGE_BATCH_FEED,
                   show_and_tell_model.INITIAL_STATE,
                   show_and_tell_model.INITIAL_STATE_BATCH,
                   show_and_tell_model.STATE):
        g.get_tensor_by_name(name)
    except KeyError as e:
      raise InferenceSetupError(
          "%s is not an im2txt inference graph: %s" % (graph_file, e))
  vocab = vocabulary.Vocabulary(vocab_file)
  vocabulary.check_fits_model(
      vocab_file, len(vocab), int(softmax.shape[1]), graph_file,
      "It is not the vocabulary this model was trained with.")
  g.finalize()
  return LoadedModel(g, model, restore_fn, vocab, graph_file)


# Errors of load_model (and of the flags that feed it) that a binary reports
# as "<binary>: error: <message>" rather than a traceback.
SETUP_ERRORS = (InferenceSetupError, checkpoints.CheckpointNotFoundError,
                vocabulary.VocabularyFileError, ValueError)


def expand_input_files(input_files):
  """Expands comma-separated file patterns.

  Returns:
    (filenames, patterns that matched nothing), in the order given.
  """
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
  """Reads image files lazily.

  Only regular files are opened, and an image whose header declares more
  than image_checks.MAX_IMAGE_PIXELS pixels is refused before decoding.

  Args:
    filenames: Paths of the images.
    failures: A list; (filename, problem) is appended for each file that
      cannot be read or is too large.

  Yields:
    (filename, bytes) for each readable file, in order.
  """
  for filename in filenames:
    try:
      data = image_checks.read_image_file(filename)
    except image_checks.BadImageError as e:
      failures.append((filename, "cannot read file (%s)" % e))
      continue
    try:
      image_checks.check_image_pixels(data)
    except image_checks.BadImageError as e:
      failures.append((filename, "image too large (%s)" % e))
      continue
    yield filename, data


def image_files_with_ids(input_files):
  """Expands patterns of MSCOCO-named image files, with their image ids.

  The image id is the number at the end of the file name, as in
  COCO_val2014_000000224477.jpg.

  Returns:
    ([(image_id, filename)], patterns that matched nothing). A file matched
    by several patterns is listed once.

  Raises:
    ValueError: If a file name has no trailing number to use as image id,
      or two different files give the same id (img_5.jpg, img_000005.jpg):
      their results and gallery entries could not be told apart.
  """
  filenames, unmatched = expand_input_files(input_files)
  items = []
  by_id = {}
  for filename in dict.fromkeys(filenames):
    match = _TRAILING_NUMBER.search(os.path.basename(filename))
    if not match:
      raise ValueError("%s: no image id at the end of the file name (e.g. "
                       "COCO_val2014_000000224477.jpg)" % filename)
    image_id = int(match.group(1))
    if image_id in by_id:
      raise ValueError(
          "%s and %s both give image id %d (the number at the end of the "
          "name): their results could not be told apart; rename one, or "
          "caption them in separate runs." % (by_id[image_id], filename,
                                               image_id))
    by_id[image_id] = filename
    items.append((image_id, filename))
  return items, unmatched


def images_from_records(file_pattern):
  """Yields (image_id, encoded image, record file) per distinct image.

  Args:
    file_pattern: Comma-separated TFRecord patterns of a split.

  Raises:
    input_ops.NoInputFilesError: If the pattern matches nothing.
    records.RecordReadError: If a record is corrupt (file and index named).
  """
  return records.distinct_images(input_ops.match_input_files(file_pattern))


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

  A batch goes through the generator's batched search (one image alone
  through beam_search, the original path). With a model that encodes
  batches (feed_images), the encoder runs on the next batch in a second
  thread while the current batch is searched: the search's Python work and
  small steps overlap the encoder's forward pass, with the same results.
  A batch holding an undecodable image is redone one image at a time, so
  that only that image fails: its captions are None.

  Args:
    sess: The session of the inference graph.
    generator: A CaptionGenerator.
    items: Iterable of anything; encoded_of(item) gives the image bytes.
    batch_size: Images per batch (at least 1).
    encoded_of: Function item -> encoded image.

  Yields:
    (item, captions): captions a list of caption_generator.Caption, best
    first, or None if the image cannot be decoded.
  """
  chunks = _chunks(items, max(1, batch_size))
  model = getattr(generator, "model", None)
  if batch_size <= 1 or not hasattr(model, "feed_images"):
    for chunk in chunks:
      yield from _search_chunk(sess, generator, chunk, encoded_of, None)
    return
  with futures.ThreadPoolExecutor(1) as encoder_thread:
    pending = None
    for chunk in chunks:
      states = None
      if len(chunk) > 1:
        states = encoder_thread.submit(model.feed_images, sess,
                                       [encoded_of(item) for item in chunk])
      if pending:
        yield from _search_chunk(sess, generator, *pending)
      pending = (chunk, encoded_of, states)
    if pending:
      yield from _search_chunk(sess, generator, *pending)


def _search_chunk(sess, generator, chunk, encoded_of, states):
  """(item, captions) of one batch; states: a future of its initial
  states, or None to encode here."""
  try:
    if states is not None:
      all_captions = generator.beam_search_states(sess, states.result())
    elif len(chunk) == 1:
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
  """Returns the lines run_inference prints for one image (the original's
  output format: "  i) words (p=probability)")."""
  lines = ["Captions for image %s:" % name]
  for i, caption in enumerate(captions):
    sentence = " ".join(caption_words(caption, vocab))
    lines.append("  %d) %s (p=%f)" % (i, sentence, math.exp(caption.logprob)))
  return lines


def result_entries(image_id, captions, vocab):
  """An image's entries in the results file ({"image_id", "caption"}, the
  best) and the top-k file ({"image_id", "captions": [{"caption", "p"}]})."""
  beams = [{"caption": " ".join(caption_words(c, vocab)),
            "p": math.exp(c.logprob)} for c in captions]
  return ({"image_id": image_id, "caption": beams[0]["caption"]},
          {"image_id": image_id, "captions": beams})


def caption_all(sess, generator, vocab, images, log_every=50, batch_size=32):
  """Captions (image_id, encoded, name) items, batch_size images at a time.

  Batching and bad-image handling are beam_search_in_batches'.

  Returns:
    (results, top_k, failures): results a list of {"image_id", "caption"},
    top_k a list of {"image_id", "captions": [{"caption", "p"}]}, failures a
    list of (name, problem).
  """
  results, top_k, failures = [], [], []
  start = time.time()
  next_log = log_every
  for (image_id, _, name), captions in beam_search_in_batches(
      sess, generator, images, batch_size, lambda item: item[1]):
    if captions is None:
      failures.append((name, "image %d is not a decodable JPEG" % image_id))
      continue
    result, beams = result_entries(image_id, captions, vocab)
    results.append(result)
    top_k.append(beams)
    if len(results) >= next_log:
      next_log += log_every
      tf.logging.info("Captioned %d images (%.1f images/s)", len(results),
                      len(results) / (time.time() - start))
  elapsed = time.time() - start
  tf.logging.info("Captioned %d images in %.1f s (%.1f images/s)",
                  len(results), elapsed, len(results) / max(elapsed, 1e-9))
  return results, top_k, failures
