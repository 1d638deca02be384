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
"""The Show and Tell decoder: every computation of the model but the
encoder's own layers, each written once.

A Decoder owns the model's variables outside Inception v3 and the ops that
use them:

  image projection   image_embedding/weights [2048, E], no bias
  word embedding     seq_embedding/map [vocab_size, E] (looked up on the CPU)
  LSTM               lstm/basic_lstm_cell/{kernel,bias} (BasicLSTMCell;
                     with dropout on its inputs and outputs when training)
  logits             logits/weights [U, vocab_size], logits/biases

ShowAndTellModel builds its train, eval and inference branches from one
Decoder and exposes it as ``model.decoder``; the serving graph, the graph
beam search's step, scheduled sampling and self-critical decoding call that
same object. Its variables are created at their first use, in the variable
scope current then (the model's build, so an ensemble member's decoder
lives under ``member_<i>/``), and every later call uses the same variables
(the cell object, the variable handles): nothing else constructs a cell, an
embedding lookup or a dense layer of the model, or finds their variables
by name.

States cross process boundaries (feeds, SavedModel signatures) as one
[batch, 2 * U] matrix, c in the first U columns and h in the rest.
"""

import contextlib

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import schema
from im2txt.ops import image_embedding


class Decoder(object):
  """The model's projection, embedding, LSTM and logits (module docstring)."""

  def __init__(self, config, is_training=False, encoder_dtype="float32",
               initializer=None):
    """Declares the decoder; variables are created at their first use.

    Args:
      config: A ModelConfig (sizes, dropout, initializer scale).
      is_training: Whether the LSTM applies dropout (training mode).
      encoder_dtype: Arithmetic of the frozen encoder's forward pass when
        this decoder runs it (embed_images).
      initializer: Initializer of the non-Inception variables; by default
        uniform in [-config.initializer_scale, config.initializer_scale],
        as in the paper.
    """
    self.config = config
    self.is_training = is_training
    self.encoder_dtype = encoder_dtype
    if initializer is None:
      initializer = tf.random_uniform_initializer(
          minval=-config.initializer_scale, maxval=config.initializer_scale)
    self.initializer = initializer
    # The variable scope the model is built in (an ensemble member's).
    self._root_scope = tf.get_variable_scope()
    self.projection_weights = None
    self.embedding_map = None
    self.logits_weights = self.logits_biases = None
    # Departure from the paper kept from the original: BasicLSTMCell has
    # biases and emits tanh(new_c) * sigmoid(o); the paper's cell has no
    # biases and emits new_c * sigmoid(o).
    self.cell = tf.nn.rnn_cell.BasicLSTMCell(
        num_units=config.num_lstm_units, state_is_tuple=True)
    self._dropout_cell = None
    if is_training:
      self._dropout_cell = tf.nn.rnn_cell.DropoutWrapper(
          self.cell,
          input_keep_prob=config.lstm_dropout_keep_prob,
          output_keep_prob=config.lstm_dropout_keep_prob)
    self._lstm_scope = None
    self._encoder_built = False
    self._name_scopes = {}

  @property
  def state_size(self):
    """Columns of a state matrix: 2 * num_lstm_units."""
    return sum(self.cell.state_size)

  @property
  def output_size(self):
    return self.cell.output_size

  # -- Variables ------------------------------------------------------------

  @contextlib.contextmanager
  def _variables_of(self, name):
    """The variable scope `name` under the model's root, for creation; its
    name scope is kept for the ops that use the variables (_ops_of)."""
    with tf.variable_scope(self._root_scope, auxiliary_name_scope=False):
      with tf.variable_scope(name, initializer=self.initializer) as scope:
        self._name_scopes[name] = scope.original_name_scope
        yield scope

  def _ops_of(self, name):
    """The name scope of the ops of part `name` (the same as its
    variables', e.g. seq_embedding/), once its variables exist."""
    return tf.name_scope(self._name_scopes[name])

  def _projection(self):
    if self.projection_weights is None:
      with self._variables_of(schema.IMAGE_EMBEDDING_SCOPE):
        self.projection_weights = tf.get_variable(
            schema.WEIGHTS, [image_embedding.OUTPUT_SIZE,
                             self.config.embedding_size])
    return self.projection_weights

  def _embedding(self):
    if self.embedding_map is None:
      with self._variables_of(schema.WORD_EMBEDDING_SCOPE), \
          tf.device("/cpu:0"):
        self.embedding_map = tf.get_variable(
            schema.WORD_EMBEDDING_MAP,
            [self.config.vocab_size, self.config.embedding_size])
    return self.embedding_map

  def _logits(self):
    if self.logits_weights is None:
      with self._variables_of(schema.LOGITS_SCOPE):
        self.logits_weights = tf.get_variable(
            schema.WEIGHTS, [self.config.num_lstm_units,
                             self.config.vocab_size])
        self.logits_biases = tf.get_variable(
            schema.BIASES, [self.config.vocab_size],
            initializer=tf.zeros_initializer())
    return self.logits_weights, self.logits_biases

  def create_variables(self):
    """Creates whatever variables are not yet created (the LSTM's by one
    call on an empty batch), e.g. before a tf.while_loop that uses them."""
    self._projection()
    self._embedding()
    if not self.cell.built:
      empty = tf.zeros([0, self.config.embedding_size])
      self.step(empty, self.zero_state(0), dropout=False)
    self._logits()

  # -- Image path -------------------------------------------------------------

  def project_images(self, encoder_outputs):
    """[n, 2048] encoder outputs -> [n, embedding_size] image embeddings."""
    weights = self._projection()
    with self._ops_of(schema.IMAGE_EMBEDDING_SCOPE):
      return tf.matmul(encoder_outputs, weights)

  def embed_images(self, images, trainable=False, is_training=False,
                   add_summaries=True):
    """Inception v3 then the projection: [n, H, W, 3] -> [n, E].

    The first call creates the encoder's variables; later calls (a second
    feed, the serving graph) run the same encoder, frozen.

    Args:
      images: float32 [n, height, width, 3] in [-1, 1].
      trainable, is_training, add_summaries: As image_embedding.inception_v3.
    """
    with tf.variable_scope(self._root_scope, auxiliary_name_scope=False):
      outputs = image_embedding.inception_v3(
          images, trainable=trainable, is_training=is_training,
          add_summaries=add_summaries, compute_dtype=self.encoder_dtype,
          reuse=True if self._encoder_built else None)
    self._encoder_built = True
    return self.project_images(outputs)

  def encoder_variables_only(self):
    """Creates the encoder's variables without running it (training from
    cached features: the checkpoint keeps the encoder)."""
    with tf.variable_scope(self._root_scope, auxiliary_name_scope=False):
      image_embedding.encoder_variables_only(self.config.image_height,
                                             self.config.image_width)
    self._encoder_built = True

  # -- LSTM -------------------------------------------------------------------

  @contextlib.contextmanager
  def lstm_scope(self):
    """The LSTM's variable and name scope ("lstm/"; the inference tensors
    lstm/initial_state, lstm/state_feed and lstm/state are made in it).
    The first entry creates it; later ones re-enter the same scope."""
    if self._lstm_scope is None:
      with self._variables_of(schema.LSTM_SCOPE) as scope:
        self._lstm_scope = scope
        yield
    else:
      with tf.variable_scope(self._lstm_scope, auxiliary_name_scope=False), \
          tf.name_scope(self._lstm_scope.original_name_scope):
        yield

  def _cell(self, dropout):
    if dropout is None:
      dropout = self.is_training
    return self._dropout_cell if dropout and self._dropout_cell else self.cell

  def zero_state(self, batch_size):
    return self.cell.zero_state(batch_size=batch_size, dtype=tf.float32)

  def step(self, inputs, state, dropout=None):
    """One LSTM step: (outputs [n, U], new LSTMStateTuple).

    Args:
      inputs: float32 [n, embedding_size], word or image embeddings.
      state: An LSTMStateTuple of [n, U] tensors.
      dropout: Whether to apply the training dropout; None: in training.
    """
    with self.lstm_scope():
      return self._cell(dropout)(inputs, state)

  def initial_state(self, image_embeddings, dropout=None):
    """The state after reading the image at step -1 (its output unused)."""
    batch = tf.compat.dimension_value(image_embeddings.get_shape()[0])
    if batch is None:
      batch = tf.shape(image_embeddings)[0]
    with self.lstm_scope():
      zero_state = self.zero_state(batch)
    _, state = self.step(image_embeddings, zero_state, dropout=dropout)
    return state

  def unroll(self, embeddings, initial_state, sequence_length):
    """Runs the LSTM over [batch, T, E] word embeddings (teacher forcing);
    positions at or past sequence_length are not run and give zeros.

    Returns:
      float32 [batch, T, U] outputs.
    """
    with self.lstm_scope():
      outputs, _ = tf.nn.dynamic_rnn(cell=self._cell(None),
                                     inputs=embeddings,
                                     sequence_length=sequence_length,
                                     initial_state=initial_state,
                                     dtype=tf.float32,
                                     scope=self._lstm_scope)
    return outputs

  # -- Words ----------------------------------------------------------------

  def embed(self, word_ids):
    """int64 word ids of any shape -> their embeddings [..., E]."""
    embedding_map = self._embedding()
    with self._ops_of(schema.WORD_EMBEDDING_SCOPE), tf.device("/cpu:0"):
      return tf.nn.embedding_lookup(embedding_map, word_ids)

  def logits(self, outputs):
    """LSTM outputs [n, U] -> unnormalised word scores [n, vocab_size]."""
    weights, biases = self._logits()
    with self._ops_of(schema.LOGITS_SCOPE):
      return tf.nn.bias_add(tf.matmul(outputs, weights), biases)

  # -- State matrices (serving, beam search) ----------------------------------

  @staticmethod
  def join_state(state):
    """LSTMStateTuple -> [n, 2U] ([c | h])."""
    return tf.concat(axis=1, values=state)

  @staticmethod
  def split_state(states):
    """[n, 2U] -> LSTMStateTuple of [n, U]."""
    c, h = tf.split(value=states, num_or_size_splits=2, axis=1)
    return tf.nn.rnn_cell.LSTMStateTuple(c, h)

  def image_states(self, images):
    """The frozen image path on a batch: [n, H, W, 3] -> states [n, 2U]."""
    embeddings = self.embed_images(images, add_summaries=False)
    return self.join_state(self.initial_state(embeddings, dropout=False))

  def softmax_step(self, word_ids, states):
    """One inference step on state matrices: (softmax [n, vocab_size], new
    states [n, 2U]), for beam search."""
    outputs, new_state = self.step(self.embed(word_ids),
                                   self.split_state(states), dropout=False)
    return tf.nn.softmax(self.logits(outputs)), self.join_state(new_state)
