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
"""Exports a trained model for serving: a SavedModel, or a frozen GraphDef.

The SavedModel (tag "serve") holds the inference model's variables, its
vocabulary as assets and these signatures:

* ``caption`` (also ``serving_default``): ``images`` string [n] (JPEG or
  PNG bytes) -> ``captions`` string [n, beam_size], ``log_probabilities``
  float32 [n, beam_size], ``word_ids`` int64 [n, beam_size,
  max_caption_length] (start word first, -1 after the end), ``lengths``
  int32 [n, beam_size] and ``status`` string [n] ("ok", or why the image
  was not captioned: caption_graph.STATUS_*). Beam search runs in the graph
  with the beam size, maximum length and length normalisation fixed at
  export. A request is captioned in consecutive batches of at most
  ``images_per_batch`` images (fixed at export), so that its memory is
  that of one batch, whatever the request's size.
* ``initial_state``: ``images`` string [n] -> ``initial_state`` float32
  [n, 2 * num_lstm_units], the original's image_feed ->
  lstm/initial_state on a batch.
* ``step``: ``input_feed`` int64 [m] and ``state_feed`` float32 [m, 2U] ->
  ``softmax`` float32 [m, vocab_size] and ``state`` float32 [m, 2U], the
  original's input_feed, lstm/state_feed -> softmax, lstm/state.

Assets: ``vocab.txt`` (one word per line, line i is word id i, <UNK>
included, as the Vocabulary class maps them; the caption signature reads
it) and the ``word_counts.txt`` the model was trained with. The export's
settings and model config are in ``assets.extra/im2txt_export.json``.

The frozen GraphDef is the inference graph with its variables as
constants and the original's node names (image_feed, input_feed,
lstm/state_feed, lstm/initial_state, softmax, lstm/state, and the batched
image_batch_feed -> lstm/initial_state_batch); run_inference
--frozen_graph_file captions from it.
"""

import collections
import json
import os
import shutil
import tempfile

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.serving import legacy_checkpoints
from im2txt.serving import model_versions
from im2txt.serving import caption_graph
from im2txt import show_and_tell_model
from im2txt.data import schema
from im2txt.inference_utils import vocabulary

SIGNATURE_CAPTION = "caption"
SIGNATURE_INITIAL_STATE = "initial_state"
SIGNATURE_STEP = "step"
VOCAB_ASSET = "vocab.txt"
WORD_COUNTS_ASSET = "word_counts.txt"
EXPORT_INFO = "im2txt_export.json"

# The caption signature's batches: memory of about 32 images (decoded
# images, encoder activations, search) whatever the request's size; as fast
# as a whole request at once from 400 images on (benchmarks/README.md).
DEFAULT_IMAGES_PER_BATCH = 32

# Nodes a frozen graph keeps (and everything they need).
FROZEN_OUTPUTS = tuple(
    name.split(":", maxsplit=1)[0] for name in (
        show_and_tell_model.INITIAL_STATE,
        show_and_tell_model.INITIAL_STATE_BATCH, show_and_tell_model.SOFTMAX,
        show_and_tell_model.STATE)) + ("embedding_size",)

# Variables every im2txt checkpoint has (the LSTM's are checked by
# legacy_checkpoints, which names older TensorFlow's names).
_DECODER_VARIABLES = (schema.EMBEDDING_MAP_NAME, schema.LOGITS_WEIGHTS_NAME,
                      schema.PROJECTION_WEIGHTS_NAME)


class ExportError(ValueError):
  """The export cannot be made; the message names the file and the fix."""


def check_output_path(path, overwrite):
  """Refuses an existing export directory or file unless overwrite, and a
  path under a regular file (before any model is loaded)."""
  blocking = file_io.file_above(path) if path else ""
  if blocking:
    raise ExportError("Cannot write %s: %s is a file, not a folder."
                      % (path, blocking))
  if path and file_io.exists(path) and not overwrite:
    raise ExportError(
        "%s already exists. Choose another path, or pass --overwrite to "
        "replace it." % path)


# A checkpoint to export, resolved and read once (load_for_export): its
# prefix, checkpoints.variable_shapes, global step, ModelConfig and
# Vocabulary.
ExportSource = collections.namedtuple(
    "ExportSource", ["checkpoint", "shapes", "global_step", "model_config",
                     "vocab"])


def _check_is_im2txt_checkpoint(checkpoint, names):
  if not any(name in names for name in _DECODER_VARIABLES):
    raise ExportError(
        "%s is not an im2txt checkpoint: it has none of the variables %s "
        "(it has %d variables, e.g. %s)."
        % (checkpoint, ", ".join(_DECODER_VARIABLES), len(names),
           ", ".join(sorted(names)[:3])))


def load_for_export(checkpoint_path, vocab_file, model_config_file=""):
  """Resolves the checkpoint and reads and checks it, its config and the
  vocabulary, once for every output of the export.

  Returns:
    An ExportSource.

  Raises:
    ExportError, checkpoints.CheckpointNotFoundError,
    legacy_checkpoints.LegacyCheckpointError, vocabulary errors.
  """
  if "," in checkpoint_path:
    raise ExportError("Export takes one checkpoint; %r is a list (ensembles "
                      "caption with run_inference and caption_images)."
                      % checkpoint_path)
  checkpoint = checkpoints.resolve(checkpoint_path)
  try:
    shapes, step = checkpoints.shapes_and_step(checkpoint)
  except checkpoints.CheckpointMismatchError as e:
    raise ExportError(str(e))
  _check_is_im2txt_checkpoint(checkpoint, shapes)
  legacy_checkpoints.check_current(checkpoint, shapes)
  model_config = checkpoints.model_config_for(checkpoint, model_config_file)
  vocab = captioner.load_vocabulary(vocab_file, model_config, checkpoint)
  return ExportSource(checkpoint, shapes, step, model_config, vocab)


def _restore(saver, sess, checkpoint):
  """checkpoints.restore, with the export's words for a checkpoint that is
  gone (a running trainer rotated it out) or broken."""
  try:
    checkpoints.restore(saver, sess, checkpoint)
  except checkpoints.CheckpointFault as e:
    if e.vanished:
      raise ExportError(
          "Checkpoint %s was deleted while it was being exported (a running "
          "trainer keeps only its latest max_checkpoints_to_keep): copy it "
          "out of the train_dir first, or export the latest one." % checkpoint)
    raise ExportError("Checkpoint %s cannot be read: %s" % (checkpoint,
                                                            e.reason))


def _tensor_info(tensor):
  return tf.saved_model.utils.build_tensor_info(tensor)


def _signature(inputs, outputs):
  return tf.saved_model.signature_def_utils.build_signature_def(
      inputs={k: _tensor_info(v) for k, v in inputs.items()},
      outputs={k: _tensor_info(v) for k, v in outputs.items()},
      method_name=tf.saved_model.signature_constants.PREDICT_METHOD_NAME)


def build_serving_graph(model_config, vocab, words_file, beam_size,
                        max_caption_length, length_normalization_factor,
                        encoder_dtype="float32",
                        images_per_batch=DEFAULT_IMAGES_PER_BATCH):
  """Builds the inference model and the three signatures in a new graph.

  Args:
    model_config: The ModelConfig of the checkpoint.
    vocab: Its Vocabulary.
    words_file: Path of the one-word-per-line vocabulary the caption
      signature reads (registered as an asset).
    beam_size, max_caption_length, length_normalization_factor: The
      caption signature's search.
    encoder_dtype: "float32" or "bfloat16".
    images_per_batch: The caption signature's batches (0: a whole request
      at once).

  Returns:
    (graph, {signature key: SignatureDef}, Saver over the model's
    variables).

  Raises:
    ExportError: If the search settings cannot be used with this model.
  """
  if beam_size < 1 or beam_size > model_config.vocab_size:
    raise ExportError("--beam_size must be between 1 and the model's "
                      "vocab_size %d, got %d" % (model_config.vocab_size,
                                                 beam_size))
  if max_caption_length < 1:
    raise ExportError("--max_caption_length must be at least 1, got %d"
                      % max_caption_length)
  if images_per_batch < 0:
    raise ExportError("--images_per_batch must be 0 (a whole request at "
                      "once) or positive, got %d" % images_per_batch)
  g = tf.Graph()
  with g.as_default():
    # Resource variables: TensorFlow 2 loads them as tf.Variables (reference
    # variables get a warning each). Names, and so checkpoints, are the same.
    # The model is made in the scope too: its decoder creates its variables
    # (the encoder's included) in the scope it was made in.
    with tf.variable_scope(tf.get_variable_scope(), use_resource=True):
      model = show_and_tell_model.ShowAndTellModel(
          model_config, mode="inference", encoder_dtype=encoder_dtype)
      model.build()
    model_variables = tf.global_variables()
    variable_names = {v.op.name for v in model_variables}
    words = tf.constant(words_file, name="vocab_asset")
    tf.add_to_collection(tf.GraphKeys.ASSET_FILEPATHS, words)
    images = tf.placeholder(tf.string, [None], name="images")
    outputs = caption_graph.caption_outputs(
        model, images, words, vocab, beam_size, max_caption_length,
        length_normalization_factor, images_per_batch=images_per_batch)
    added = {v.op.name for v in tf.global_variables()} - variable_names
    if added:
      raise AssertionError("The serving graph created variables: %s"
                           % sorted(added))
    caption = _signature({"images": images}, outputs._asdict())
    names = show_and_tell_model  # The tensor names of the original.
    signatures = {
        SIGNATURE_CAPTION: caption,
        tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
            caption,
        SIGNATURE_INITIAL_STATE: _signature(
            {"images": g.get_tensor_by_name(names.IMAGE_BATCH_FEED)},
            {"initial_state": g.get_tensor_by_name(
                names.INITIAL_STATE_BATCH)}),
        SIGNATURE_STEP: _signature(
            {"input_feed": g.get_tensor_by_name(names.INPUT_FEED),
             "state_feed": g.get_tensor_by_name(names.STATE_FEED)},
            {"softmax": g.get_tensor_by_name(names.SOFTMAX),
             "state": g.get_tensor_by_name(names.STATE)}),
    }
    saver = tf.train.Saver(model_variables, sharded=True)
  return g, signatures, saver


def version_export_dir(base_path, version, source):
  """BASE/<version> for an export of `source` (an ExportSource): `version`,
  or the checkpoint's global step when it is 0.

  Raises:
    ExportError: If there is no version number to use.
  """
  number = version or source.global_step
  if not number:
    raise ExportError(
        "The checkpoint %s has global step %s, which cannot number a "
        "version of --model_base_path (versions start at 1): pass --version."
        % (source.checkpoint, source.global_step))
  return model_versions.version_dir(base_path, number)


def _write_vocab_assets(vocab, vocab_file, folder):
  words_file = os.path.join(folder, VOCAB_ASSET)
  with open(words_file, "w", encoding="utf-8") as f:
    f.write("".join(word + "\n" for word in vocab.reverse_vocab))
  counts_file = os.path.join(folder, WORD_COUNTS_ASSET)
  with tf.gfile.GFile(vocab_file, "rb") as src, open(counts_file, "wb") as f:
    f.write(src.read())
  return words_file, counts_file


def _replace(staging, target):
  """Moves the finished export `staging` to `target` (replacing it)."""
  if file_io.exists(target):
    if file_io.is_local(target):
      shutil.rmtree(target)
    else:
      tf.gfile.DeleteRecursively(target)
  if file_io.is_local(target):
    os.rename(staging, target)
  else:
    tf.gfile.Rename(staging, target)


def export_saved_model(checkpoint_path, vocab_file, export_dir, beam_size=3,
                       max_caption_length=20, length_normalization_factor=0.0,
                       model_config_file="", encoder_dtype="float32",
                       overwrite=False, source=None,
                       images_per_batch=DEFAULT_IMAGES_PER_BATCH):
  """Writes the SavedModel of a checkpoint (see the module docstring).

  `source`, an ExportSource of the same checkpoint and vocabulary, saves
  reading them again (the binary reads them once for both outputs).

  The SavedModel is written beside export_dir and moved into place when
  complete, so that a failed export leaves no half-written directory.

  Returns:
    The checkpoint prefix that was exported.

  Raises:
    ExportError, checkpoints.CheckpointNotFoundError,
    legacy_checkpoints.LegacyCheckpointError, vocabulary errors.
  """
  check_output_path(export_dir, overwrite)
  source = source or load_for_export(checkpoint_path, vocab_file,
                                     model_config_file)
  checkpoint, model_config, vocab = (source.checkpoint, source.model_config,
                                     source.vocab)
  scratch = tempfile.mkdtemp(prefix="im2txt_export_")
  staging = export_dir.rstrip("/") + ".tmp-%d" % os.getpid()
  try:
    words_file, counts_file = _write_vocab_assets(vocab, vocab_file, scratch)
    g, signatures, saver = build_serving_graph(
        model_config, vocab, words_file, beam_size, max_caption_length,
        length_normalization_factor, encoder_dtype, images_per_batch)
    with g.as_default():
      captioner.check_checkpoint_fits(checkpoint, tf.global_variables(),
                                      source.shapes)
      counts = tf.constant(counts_file, name="word_counts_asset")
      tf.add_to_collection(tf.GraphKeys.ASSET_FILEPATHS, counts)
      builder = tf.saved_model.Builder(staging)
      with tf.Session() as sess:
        _restore(saver, sess, checkpoint)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.SERVING], signature_def_map=signatures,
            assets_collection=tf.get_collection(
                tf.GraphKeys.ASSET_FILEPATHS),
            main_op=tf.tables_initializer(), saver=saver,
            strip_default_attrs=True)
      builder.save()
    extra = file_io.join(staging, "assets.extra")
    file_io.makedirs(extra)
    info = {
        "checkpoint": checkpoint,
        "global_step": source.global_step,
        "beam_size": beam_size,
        "max_caption_length": max_caption_length,
        "length_normalization_factor": length_normalization_factor,
        "encoder_dtype": encoder_dtype,
        "images_per_batch": images_per_batch,
        "vocab_file": vocab_file,
        "model_config": json.loads(model_config.to_json_string()),
    }
    with tf.gfile.GFile(file_io.join(extra, EXPORT_INFO), "w") as f:
      f.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
    _replace(staging, export_dir)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
    if file_io.exists(staging):
      tf.gfile.DeleteRecursively(staging)
  return checkpoint


def write_frozen_graph(checkpoint_path, vocab_file, output_file,
                       model_config_file="", encoder_dtype="float32",
                       overwrite=False, source=None):
  """Writes the inference graph with its variables as constants (`source`
  as for export_saved_model).

  Returns:
    The number of variables frozen.

  Raises:
    As export_saved_model.
  """
  check_output_path(output_file, overwrite)
  source = source or load_for_export(checkpoint_path, vocab_file,
                                     model_config_file)
  g, _, saver = captioner.build_inference_graph(source.model_config,
                                                encoder_dtype)
  with g.as_default():
    captioner.check_checkpoint_fits(source.checkpoint, tf.global_variables(),
                                    source.shapes)
  g.finalize()
  with g.as_default(), tf.Session(graph=g) as sess:
    _restore(saver, sess, source.checkpoint)
    num_variables = len(tf.global_variables())
    frozen = tf.graph_util.convert_variables_to_constants(
        sess, g.as_graph_def(), list(FROZEN_OUTPUTS))
  file_io.makedirs(file_io.dirname(output_file) or ".")
  with tf.gfile.GFile(output_file + ".tmp", "wb") as f:
    f.write(frozen.SerializeToString())
  tf.gfile.Rename(output_file + ".tmp", output_file, overwrite=True)
  return num_variables


# Errors the binary reports as "export_saved_model: error: ...".
ERRORS = (ExportError, vocabulary.VocabularyFileError, ValueError)
