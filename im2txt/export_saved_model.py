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
r"""Exports a trained model as a SavedModel (and/or a frozen GraphDef).

  export_saved_model --checkpoint_path=${MODEL_DIR}/train \
    --vocab_file=${MSCOCO_DIR}/word_counts.txt \
    --export_dir=${MODEL_DIR}/saved_model \
    [--frozen_graph_file=${MODEL_DIR}/frozen_graph.pb]

The SavedModel's default signature, `caption`, takes a batch of JPEG or PNG
bytes and returns each image's --beam_size best captions with their
log-probabilities, word ids and a per-image status; the beam search runs in
the graph with --beam_size, --max_caption_length and
--length_normalization_factor fixed here. Signatures `initial_state` and
`step` are the original's two-step protocol. The vocabulary travels inside
the SavedModel as an asset. Load it with tf.saved_model.load (plain
TensorFlow 2, nothing from this project) or inspect it with
`saved_model_cli show --all --dir ...`. See
im2txt/serving/saved_model_export.py.

--frozen_graph_file writes the inference graph with its variables as
constants and the original's node names, for `run_inference
--frozen_graph_file`. An existing output is refused unless --overwrite.
"""

import sys

from absl import flags

from im2txt.common import cli

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.serving import saved_model_export

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_captioning_flags(__name__)
  flags.DEFINE_string("export_dir", "",
                      "Directory to write the SavedModel to (must not "
                      "exist, unless --overwrite).")
  flags.DEFINE_string("model_base_path", "",
                      "Instead of --export_dir: write the SavedModel as a "
                      "numbered version of this base path, as TensorFlow "
                      "Serving and im2txt-model-server load it "
                      "(BASE/<version>/).")
  flags.DEFINE_integer("version", 0,
                       "With --model_base_path: the version number; 0 (the "
                       "default) takes the checkpoint's global step.",
                       lower_bound=0)
  cli.define_shared_flag(
      "frozen_graph_file",
      "Optional: also write the frozen inference GraphDef "
      "(binary) to this file.",
      __name__)
  flags.DEFINE_boolean("overwrite", False,
                       "Replace an existing --export_dir or "
                       "--frozen_graph_file.")
  flags.DEFINE_integer("images_per_batch",
                       saved_model_export.DEFAULT_IMAGES_PER_BATCH,
                       "The SavedModel's caption signature captions a "
                       "request in consecutive batches of at most this many "
                       "images, so that its memory does not grow with the "
                       "request; 0: all of a request's images at once.",
                       lower_bound=0)


def main(argv):
  if len(argv) > 1:
    sys.exit("export_saved_model: error: unexpected arguments %s"
             % " ".join(argv[1:]))
  tf.logging.set_verbosity(tf.logging.INFO)
  export_dir = FLAGS.export_dir
  if not export_dir and not FLAGS.model_base_path and (
      not FLAGS.frozen_graph_file):
    sys.exit("export_saved_model: error: pass --export_dir or "
             "--model_base_path (the SavedModel), --frozen_graph_file, or "
             "both.")
  if export_dir and FLAGS.model_base_path:
    sys.exit("export_saved_model: error: pass --export_dir (one folder) or "
             "--model_base_path (a numbered version in it), not both.")
  if FLAGS.version and not FLAGS.model_base_path:
    sys.exit("export_saved_model: error: --version numbers a version of "
             "--model_base_path; pass that too.")
  try:
    if FLAGS.model_base_path:
      # The version folder's parent, checked before the checkpoint is read.
      saved_model_export.check_output_path(FLAGS.model_base_path, True)
    else:
      saved_model_export.check_output_path(export_dir, FLAGS.overwrite)
    saved_model_export.check_output_path(FLAGS.frozen_graph_file,
                                         FLAGS.overwrite)
    # The checkpoint, its config and the vocabulary: read and checked once.
    source = saved_model_export.load_for_export(
        FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.model_config_file)
    if FLAGS.model_base_path:
      export_dir = saved_model_export.version_export_dir(
          FLAGS.model_base_path, FLAGS.version, source)
      # Both outputs are checked before either is written.
      saved_model_export.check_output_path(export_dir, FLAGS.overwrite)
    if export_dir:
      checkpoint = saved_model_export.export_saved_model(
          FLAGS.checkpoint_path, FLAGS.vocab_file, export_dir,
          beam_size=FLAGS.beam_size,
          max_caption_length=FLAGS.max_caption_length,
          length_normalization_factor=FLAGS.length_normalization_factor,
          model_config_file=FLAGS.model_config_file,
          encoder_dtype=FLAGS.encoder_dtype, overwrite=FLAGS.overwrite,
          source=source, images_per_batch=FLAGS.images_per_batch)
      print("Exported %s to the SavedModel %s (signatures: %s)" % (
          checkpoint, export_dir, ", ".join([
              saved_model_export.SIGNATURE_CAPTION,
              saved_model_export.SIGNATURE_INITIAL_STATE,
              saved_model_export.SIGNATURE_STEP])))
    if FLAGS.frozen_graph_file:
      n = saved_model_export.write_frozen_graph(
          FLAGS.checkpoint_path, FLAGS.vocab_file, FLAGS.frozen_graph_file,
          model_config_file=FLAGS.model_config_file,
          encoder_dtype=FLAGS.encoder_dtype, overwrite=FLAGS.overwrite,
          source=source)
      print("Wrote the frozen graph %s (%d variables as constants)"
            % (FLAGS.frozen_graph_file, n))
  except saved_model_export.ERRORS as e:
    sys.exit("export_saved_model: error: %s" % e)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
