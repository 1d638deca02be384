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
"""Fine-tuning a trained model on data with a grown vocabulary
(train --extend_checkpoint).

A model's word rows (the embedding ``seq_embedding/map`` [vocab_size, E],
the logits ``logits/weights`` [U, vocab_size] and ``logits/biases``
[vocab_size]) mean the words of its vocabulary at their ids. Restoring them
into a model of another vocabulary whose ids differ makes every restored
row mean another word (the model then repeats one word). So a new train_dir
starts from such a checkpoint only when the new vocabulary keeps every old
word at its id and only appends words, as ``build_mscoco_data
--base_vocab_file`` writes it, and then:

* every variable of the model is restored from the checkpoint, the encoder
  (with its batch-norm statistics), the image projection and the LSTM as
  they are;
* the word rows of the old words (ids 0..N-1) are restored at their ids,
  and the old unknown-word row (id N, the old vocabulary's size) moves to
  the new unknown id (the new vocabulary's size);
* the rows of the new words, and rows beyond the new unknown id up to
  vocab_size, keep their initialisation (as at step 0);
* the global step starts at 0 and optimizer slots at their initial values
  (a new run on new data: its learning-rate schedule starts again).

``check_vocabularies`` refuses a new vocabulary that moves or drops an old
word (naming the first one), ``check_configs`` a model config whose shapes
other than vocab_size differ from the checkpoint's, and ``init_fn`` gives
the Supervisor's init_fn that does the restore.
"""

import collections

import numpy as np

import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.data import schema
from im2txt.data import tokenizers

# The word rows: variable name -> the axis of its vocabulary dimension.
WORD_ROWS = {
    schema.EMBEDDING_MAP_NAME: 0,
    schema.LOGITS_WEIGHTS_NAME: 1,
    schema.LOGITS_BIASES_NAME: 0,
}


class VocabularyExtensionError(ValueError):
  """The checkpoint cannot be extended to this run's vocabulary."""


def read_words(vocab_file):
  """The words of a word_counts.txt in id order."""
  if not file_io.exists(vocab_file):
    raise VocabularyExtensionError("Vocabulary file %s not found."
                                   % vocab_file)
  return [line.split()[0] for line in
          file_io.read_text(vocab_file).split("\n") if line.strip()]


def check_vocabularies(old_vocab_file, new_vocab_file):
  """Returns (number of old words, number of new words).

  Raises:
    VocabularyExtensionError: If the new vocabulary moves or drops an old
      word (the first such word is named), or a file is missing.
  """
  old, new = read_words(old_vocab_file), read_words(new_vocab_file)
  new_ids = {word: i for i, word in enumerate(new)}
  for old_id, word in enumerate(old):
    if old_id >= len(new) or new[old_id] != word:
      where = ("has id %d there" % new_ids[word] if word in new_ids else
               "is not in it")
      raise VocabularyExtensionError(
          "%s does not extend %s: the word %r (id %d in the old vocabulary) "
          "%s. The restored embedding and logits rows would mean other "
          "words. Build the data with build_mscoco_data --base_vocab_file=%s."
          % (new_vocab_file, old_vocab_file, word, old_id, where,
             old_vocab_file))
  return len(old), len(new)


def check_configs(old_config, new_config, old_source, num_new_words):
  """Raises VocabularyExtensionError unless the checkpoint's model config
  and this run's give the same shapes but for vocab_size, and this run's
  vocab_size holds the new vocabulary and its unknown word."""
  diffs = ["%s: checkpoint %r, now %r" % (name, getattr(old_config, name),
                                          getattr(new_config, name))
           for name in configuration.SHAPE_FIELDS if name != "vocab_size"
           and getattr(old_config, name) != getattr(new_config, name)]
  if diffs:
    raise VocabularyExtensionError(
        "The model config of the checkpoint (%s) gives other shapes than "
        "this run's (%s): only vocab_size may grow." % (old_source,
                                                        "; ".join(diffs)))
  if new_config.vocab_size < num_new_words + 1:
    raise VocabularyExtensionError(
        "vocab_size %d cannot hold the new vocabulary's %d words and the "
        "unknown word: set vocab_size to at least %d in --model_config_file."
        % (new_config.vocab_size, num_new_words, num_new_words + 1))


def remap_rows(old, initial, axis, num_old_words, num_new_words):
  """`initial` with the old words' rows (and the unknown word's) of `old`
  along `axis` at their new ids."""
  old = np.moveaxis(np.asarray(old), axis, 0)
  new = np.array(np.moveaxis(np.asarray(initial), axis, 0))
  new[:num_old_words] = old[:num_old_words]
  if num_old_words < old.shape[0] and num_new_words < new.shape[0]:
    new[num_new_words] = old[num_old_words]  # The unknown word.
  return np.moveaxis(new, 0, axis)


def _restored(variables):
  """The model's variables: not the global step, not optimizer slots
  (a slot is named after its variable: "<variable>/<slot>")."""
  names = set(v.op.name for v in variables)
  return [v for v in variables
          if v.op.name != "global_step" and
          v.op.name.rsplit("/", 1)[0] not in names]


def init_fn(checkpoint, variables, num_old_words, num_new_words):
  """The Supervisor's init_fn(sess) that restores `checkpoint` into the
  freshly initialised `variables` with the word rows remapped.

  Raises:
    checkpoints.CheckpointMismatchError: If the checkpoint lacks a model
      variable or holds one of another shape (word rows: another size
      along the vocabulary axis only).
  """
  restored = _restored(variables)
  reader = tf.train.load_checkpoint(checkpoint)
  shapes = reader.get_variable_to_shape_map()
  for variable in restored:
    name = variable.op.name
    shape = variable.shape.as_list()
    saved = shapes.get(name)
    expected = list(shape)
    if name in WORD_ROWS and saved is not None:
      expected[WORD_ROWS[name]] = saved[WORD_ROWS[name]]
    if saved != expected:
      raise checkpoints.CheckpointMismatchError(
          "%s has %s for %s, not a variable of shape %s: it is not a "
          "checkpoint of this model (with another vocabulary)." % (
              checkpoint, "no variable" if saved is None else
              "shape %s" % saved, name, expected))

  def restore(sess):
    tf.logging.info(
        "Extending %s: %d variables restored, the word rows of its %d words "
        "and its unknown word moved into a vocabulary of %d words.",
        checkpoint, len(restored), num_old_words, num_new_words)
    for variable in restored:
      name = variable.op.name
      value = reader.get_tensor(name)
      if name in WORD_ROWS:
        value = remap_rows(value, sess.run(variable), WORD_ROWS[name],
                           num_old_words, num_new_words)
      variable.load(value, sess)

  return restore


Extension = collections.namedtuple(
    "Extension", ["checkpoint", "num_old_words", "num_new_words"])


def plan(checkpoint, old_vocab_file, new_vocab_file, model_config):
  """Checks that `checkpoint` (a prefix, or a folder: its latest) can start
  this run; returns the Extension.

  Args:
    checkpoint: --extend_checkpoint.
    old_vocab_file: The checkpoint's word_counts.txt.
    new_vocab_file: This run's word_counts.txt (beside its records).
    model_config: This run's ModelConfig (its tokenizer already the
      records').

  Raises:
    VocabularyExtensionError: If the checkpoint or its model_config.json is
      missing, the vocabularies or configs do not fit (see above), or the
      model was trained on captions cut by another tokenizer.
  """
  path = checkpoint
  if file_io.isdir(checkpoint):
    path = tf.train.latest_checkpoint(checkpoint)
    if not path:
      raise VocabularyExtensionError("--extend_checkpoint %s holds no "
                                     "checkpoint." % checkpoint)
  elif not file_io.glob(path + ".index"):
    raise VocabularyExtensionError("--extend_checkpoint %s: no such "
                                   "checkpoint (no %s.index)." % (path, path))
  folder = file_io.dirname(path)
  old_config = configuration.load_model_config(folder)
  if old_config is None:
    raise VocabularyExtensionError(
        "%s has no %s beside it: its vocabulary size and shapes are not "
        "known. Copy the model_config.json of its train_dir there."
        % (path, configuration.MODEL_CONFIG_FILENAME))
  source = file_io.join(folder, configuration.MODEL_CONFIG_FILENAME)
  num_old, num_new = check_vocabularies(old_vocab_file, new_vocab_file)
  check_configs(old_config, model_config, source, num_new)
  try:
    tokenizers.check_same(
        tokenizers.from_description(old_config.to_dict(), source),
        "The model of %s" % path,
        tokenizers.from_description(model_config.to_dict(), "this run"),
        "this run's records")
  except tokenizers.TokenizerMismatchError as e:
    raise VocabularyExtensionError(str(e))
  return Extension(path, num_old, num_new)
