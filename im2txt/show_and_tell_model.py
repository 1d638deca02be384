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
"""Image-to-text model: "Show and Tell".

Vinyals et al., "Show and Tell: Lessons learned from the 2015 MSCOCO Image
Captioning Challenge", IEEE TPAMI 2016.

An Inception v3 encoder turns the image into a 2048-d vector, one linear
layer maps it into the 512-d word-embedding space, and an LSTM reads it as
its input at step -1, then reads the caption's words one per step and
predicts the next word each time.

Variable names and shapes are a public contract: they are those of the
original im2txt graph built with TensorFlow >= 1.2, so its checkpoints and
the official ``inception_v3_2016_08_28`` checkpoint restore unchanged:

  InceptionV3/...                       376 variables (tf-slim names)
  image_embedding/weights               [2048, embedding_size]   (no bias)
  seq_embedding/map                     [vocab_size, embedding_size]
  lstm/basic_lstm_cell/kernel           [embedding_size + num_lstm_units,
                                         4 * num_lstm_units]
  lstm/basic_lstm_cell/bias             [4 * num_lstm_units]
  logits/weights                        [num_lstm_units, vocab_size]
  logits/biases                         [vocab_size]
  global_step                           [] int32

In "inference" mode the graph is driven one step at a time through the
tensors named below (see im2txt/inference_utils/inference_wrapper_base.py).
"""

# TF1 behaviour, tf-slim fixes.
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt.data import schema
from im2txt.ops import decoder as decoder_lib
from im2txt.ops import image_embedding
from im2txt.ops import model_inputs
from im2txt.ops import scheduled_sampling

MODES = ("train", "eval", "inference")

# Names of the inference-mode feed and fetch tensors (the protocol between
# the model and InferenceWrapper; also used by exported graphs).
IMAGE_FEED = "image_feed:0"            # string [], one encoded image
IMAGE_BATCH_FEED = "image_batch_feed:0"  # string [n], n encoded images
INPUT_FEED = "input_feed:0"            # int64 [batch], previous word ids
# float32 [batch, 2 * num_lstm_units]
STATE_FEED = schema.LSTM_SCOPE + "/state_feed:0"
# float32 [1, 2 * num_lstm_units]
INITIAL_STATE = schema.LSTM_SCOPE + "/initial_state:0"
# float32 [n, 2 * num_lstm_units], the initial states of IMAGE_BATCH_FEED.
INITIAL_STATE_BATCH = schema.LSTM_SCOPE + "/initial_state_batch:0"
# float32 [n, 2048], n encoder outputs (cache_features' crop 0), and their
# initial states: captioning from cached features, the encoder not run.
FEATURES_FEED = "image_features_feed:0"
INITIAL_STATE_FEATURES = schema.LSTM_SCOPE + "/initial_state_features:0"
# float32 [batch, 2 * num_lstm_units]
STATE = schema.LSTM_SCOPE + "/state:0"
SOFTMAX = "softmax:0"                  # float32 [batch, vocab_size]


class ShowAndTellModel(object):
  """Builds the Show and Tell graph for one mode (arXiv:1411.4555).

  Usage: construct, then call build(); the attributes below are None until
  then. "train" reads shuffled records and applies dropout and image
  distortions; "eval" reads records in order, deterministically; "inference"
  reads nothing from disk and exposes the feed/fetch tensors named in this
  module's constants.
  """

  def __init__(self, config, mode, train_inception=False,
               features_file_pattern="", encoder_dtype="float32",
               input_batch=None, truth_probability_fn=None):
    """Validates the arguments and declares the model's outputs.

    Args:
      config: A ModelConfig.
      mode: "train", "eval" or "inference".
      train_inception: Whether the Inception v3 variables train (phase 2).
      features_file_pattern: Optional, "train" mode with a frozen encoder
        only: cached encoder outputs to train from instead of images (see
        im2txt/cache_features.py). The encoder's variables are still
        created, and saved, but not run.
      encoder_dtype: "float32" (the original) or "bfloat16": arithmetic of
        the frozen encoder's forward pass (see
        image_embedding.inception_v3). Variables and checkpoints do not
        change. bfloat16 needs a frozen encoder (train_inception False).
      input_batch: Optional, "train" and "eval" modes: an
        model_inputs.InputBatch to use instead of reading one (a clone's
        share of the input, or a fixed batch in tests).
      truth_probability_fn: Optional, "train" mode: scheduled sampling.
        A function (global step) -> float32 scalar, the probability of
        feeding the ground-truth word (ops/scheduled_sampling.py).

    Raises:
      ValueError: If `mode` is not one of MODES, the config is invalid or
        the encoder dtype cannot be used.
    """
    if mode not in MODES:
      raise ValueError("mode must be one of %s, got %r" % (MODES, mode))
    if features_file_pattern and (mode != "train" or train_inception):
      raise ValueError("Cached features can only train the frozen-encoder "
                       "phase (mode \"train\", train_inception False).")
    image_embedding.check_encoder_dtype(encoder_dtype, train_inception,
                                        features_file_pattern)
    if mode == "train" and config.num_preprocess_threads % 2:
      # Threads alternate two colour-distortion orders. Evaluation does not
      # distort, and may use one thread to read records strictly in order.
      raise ValueError("num_preprocess_threads must be even for training, got "
                       "%d" % config.num_preprocess_threads)
    if config.num_preprocess_threads < 1:
      raise ValueError("num_preprocess_threads must be positive, got %d"
                       % config.num_preprocess_threads)
    self.config = config
    self.mode = mode
    self.train_inception = train_inception
    self.features_file_pattern = features_file_pattern
    self.encoder_dtype = encoder_dtype
    if input_batch is not None and mode == "inference":
      raise ValueError("An input batch is for \"train\" and \"eval\" modes; "
                       "inference reads its feeds.")
    self.input_batch = input_batch
    if truth_probability_fn is not None and mode != "train":
      raise ValueError("Scheduled sampling is for \"train\" mode.")
    self.truth_probability_fn = truth_probability_fn
    # Scheduled sampling: p in use, int64 [batch, T] words read; else None.
    self.truth_probability = self.decoder_inputs = None

    # Non-Inception weights start uniform in [-scale, scale] (the paper).
    self.initializer = tf.random_uniform_initializer(
        minval=-self.config.initializer_scale,
        maxval=self.config.initializer_scale)

    # The projection, word embedding, LSTM and logits: built once, used by
    # every branch here and by the graphs built on this model (serving,
    # scheduled sampling, self-critical decoding).
    self.decoder = decoder_lib.Decoder(
        config, is_training=self.is_training(), encoder_dtype=encoder_dtype,
        initializer=self.initializer)

    # A float32 Tensor with shape [batch_size, height, width, channels]
    # (None when training from cached features).
    self.images = None

    # A float32 Tensor with shape [batch_size, 2048] of cached encoder
    # outputs (training from features only).
    self.image_features = None

    # Inference only: the preprocessed images of IMAGE_BATCH_FEED, and
    # their embeddings.
    self.image_batch = None
    self.image_batch_embeddings = None
    # Inference only: FEATURES_FEED and its embeddings.
    self.image_features_feed = None
    self.features_embeddings = None

    # An int64 Tensor with shape [batch_size, padded_length].
    self.input_seqs = None

    # An int64 Tensor with shape [batch_size, padded_length].
    self.target_seqs = None

    # An int32 0/1 Tensor with shape [batch_size, padded_length].
    self.input_mask = None

    # A float32 Tensor with shape [batch_size, embedding_size].
    self.image_embeddings = None

    # float32 [batch_size, padded_length, embedding_size], and its lookup table.
    self.seq_embeddings = self.embedding_map = None

    # A float32 scalar Tensor; the total loss for the trainer to optimize.
    self.total_loss = None

    # A float32 Tensor with shape [batch_size * padded_length].
    self.target_cross_entropy_losses = None

    # A float32 Tensor with shape [batch_size * padded_length].
    self.target_cross_entropy_loss_weights = None

    # Global variables under the InceptionV3 scope (weights and BN stats).
    self.inception_variables = []

    # init_fn(sess) restores the encoder from the Inception checkpoint; None
    # in inference mode and when no checkpoint file is configured.
    self.init_fn = None

    # The int32 global step variable.
    self.global_step = None

  def is_training(self):
    """Returns True in "train" mode."""
    return self.mode == "train"

  def process_image(self, encoded_image, thread_id=0):
    """Preprocesses one encoded image for this model's mode.

    Args:
      encoded_image: A scalar string Tensor; the encoded image.
      thread_id: Preprocessing thread id (colour-op order, summaries).

    Returns:
      A float32 Tensor of shape [height, width, 3]; the processed image.
    """
    return model_inputs.process_image(self.config, self.is_training(),
                                      encoded_image, thread_id)

  def build_inputs(self):
    """Builds the input tensors: placeholders, the given input batch, or
    the record pipeline (model_inputs.read_batch).

    Outputs:
      self.images (None when training from cached features)
      self.image_features (training from cached features only)
      self.image_batch (inference only: the preprocessed image_batch_feed)
      self.input_seqs
      self.target_seqs (training and eval only)
      self.input_mask (training and eval only)
    """
    images = None
    if self.mode != "inference":
      batch = self.input_batch or model_inputs.read_batch(
          self.config, self.is_training(), self.features_file_pattern)
      (images, self.image_features, input_seqs, target_seqs,
       input_mask) = batch[:5]  # image_ids, if any, stay in the batch
    else:
      # One encoded image and a batch of previous words (one per beam).
      image_feed = tf.placeholder(dtype=tf.string, shape=[], name="image_feed")
      input_feed = tf.placeholder(dtype=tf.int64,
                                  shape=[None],  # batch_size
                                  name="input_feed")

      # [299, 299, 3] -> [1, 299, 299, 3]; [batch] -> [batch, 1]
      images = tf.expand_dims(self.process_image(image_feed), 0)
      input_seqs = tf.expand_dims(input_feed, 1)

      # Also several images at once, for batched beam search (the same
      # preprocessing; a non-zero thread id adds no image summaries).
      image_batch_feed = tf.placeholder(dtype=tf.string, shape=[None],
                                        name="image_batch_feed")
      self.image_batch = tf.map_fn(
          lambda e: self.process_image(e, thread_id=1), image_batch_feed,
          dtype=tf.float32, back_prop=False)
      # Or the encoder's outputs themselves (cached features).
      self.image_features_feed = tf.placeholder(
          dtype=tf.float32, shape=[None, image_embedding.OUTPUT_SIZE],
          name="image_features_feed")

      target_seqs = None
      input_mask = None

    self.images = images
    self.input_seqs = input_seqs
    self.target_seqs = target_seqs
    self.input_mask = input_mask

  def build_image_embeddings(self):
    """Encodes the images and projects them into the word-embedding space.

    Inputs:
      self.images, or self.image_features (cached encoder outputs)
      self.image_batch (inference only)

    Outputs:
      self.image_embeddings
      self.image_batch_embeddings (inference only: the embeddings of
        self.image_batch, by the same encoder and projection)
      self.inception_variables
    """
    if self.image_features is not None:
      # The features are this encoder's outputs, computed beforehand; its
      # variables are still created (restored and saved, never run).
      self.decoder.encoder_variables_only()
      image_embeddings = self.decoder.project_images(self.image_features)
    else:
      image_embeddings = self.decoder.embed_images(
          self.images, trainable=self.train_inception,
          is_training=self.is_training())
    self.inception_variables = tf.get_collection(
        tf.GraphKeys.GLOBAL_VARIABLES, scope=schema.ENCODER_SCOPE)

    if self.image_batch is not None:
      # The same encoder and projection, frozen, on a batch.
      self.image_batch_embeddings = self.decoder.embed_images(
          self.image_batch, add_summaries=False)
      # The projection alone, on encoder outputs computed beforehand.
      self.features_embeddings = self.decoder.project_images(
          self.image_features_feed)

    # Kept in the graph (as the original does) for tools that read it.
    tf.constant(self.config.embedding_size, name="embedding_size")

    self.image_embeddings = image_embeddings

  def build_seq_embeddings(self):
    """Looks up the word embeddings of the input sequences.

    Inputs:
      self.input_seqs

    Outputs:
      self.seq_embeddings
    """
    self.seq_embeddings = self.decoder.embed(self.input_seqs)
    self.embedding_map = self.decoder.embedding_map

  def build_model(self):
    """Builds the LSTM decoder, the logits and (train/eval) the loss.

    Inputs:
      self.image_embeddings
      self.seq_embeddings
      self.target_seqs (training and eval only)
      self.input_mask (training and eval only)

    Outputs:
      self.total_loss (training and eval only)
      self.target_cross_entropy_losses (training and eval only)
      self.target_cross_entropy_loss_weights (training and eval only)
    """
    decoder = self.decoder
    # Step -1: the image embedding is the input; only the state is kept.
    initial_state = decoder.initial_state(self.image_embeddings)

    if self.mode == "inference":
      with decoder.lstm_scope():
        # States travel as one [batch, c | h] matrix: c in the first
        # num_lstm_units columns, h in the rest.
        tf.concat(axis=1, values=initial_state, name="initial_state")
      initial_state_batch = decoder.initial_state(self.image_batch_embeddings)
      with decoder.lstm_scope():
        tf.concat(axis=1, values=initial_state_batch,
                  name="initial_state_batch")
      initial_state_features = decoder.initial_state(self.features_embeddings)
      with decoder.lstm_scope():
        tf.concat(axis=1, values=initial_state_features,
                  name="initial_state_features")
        state_feed = tf.placeholder(dtype=tf.float32,
                                    shape=[None, decoder.state_size],
                                    name="state_feed")
      # One step for a batch of (previous word, state) pairs.
      lstm_outputs, state_tuple = decoder.step(
          tf.squeeze(self.seq_embeddings, axis=[1]),
          decoder.split_state(state_feed))
      with decoder.lstm_scope():
        tf.concat(axis=1, values=state_tuple, name="state")
      logits = decoder.logits(lstm_outputs)
    elif self.truth_probability is not None:
      # Scheduled sampling: the decoder loop computes the logits.
      logits, self.decoder_inputs = scheduled_sampling.decode(
          decoder, initial_state, self.input_seqs, self.truth_probability)
      logits = tf.reshape(logits, [-1, self.config.vocab_size])
    else:
      # Padding positions (mask 0) are not run; their outputs are zeros.
      sequence_length = tf.reduce_sum(self.input_mask, 1)
      lstm_outputs = decoder.unroll(self.seq_embeddings, initial_state,
                                    sequence_length)
      # [batch, T, num_lstm_units] -> [batch * T, num_lstm_units]
      logits = decoder.logits(tf.reshape(lstm_outputs,
                                         [-1, decoder.output_size]))

    if self.mode == "inference":
      tf.nn.softmax(logits, name="softmax")
    else:
      targets = tf.reshape(self.target_seqs, [-1])
      weights = tf.cast(tf.reshape(self.input_mask, [-1]), tf.float32)

      # Mean cross entropy per real (unpadded) target word, </S> included.
      losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets,
                                                              logits=logits)
      batch_loss = tf.div(tf.reduce_sum(tf.multiply(losses, weights)),
                          tf.reduce_sum(weights),
                          name="batch_loss")
      tf.losses.add_loss(batch_loss)
      # This model's loss and the graph's regularization (phase 2's weight
      # decay); not tf.losses.get_total_loss(), which would also add the
      # losses of other models in the graph (clones).
      total_loss = tf.add_n(
          [batch_loss] + tf.losses.get_regularization_losses(),
          name="total_loss")

      tf.summary.scalar("losses/batch_loss", batch_loss)
      tf.summary.scalar("losses/total_loss", total_loss)
      for var in tf.trainable_variables():
        tf.summary.histogram("parameters/" + var.op.name, var)

      self.total_loss = total_loss
      # Per-position losses and weights, for perplexity in evaluation.
      self.target_cross_entropy_losses = losses
      self.target_cross_entropy_loss_weights = weights

  def setup_inception_initializer(self):
    """Sets self.init_fn, which restores the encoder from its checkpoint.

    The Saver covers the InceptionV3 variables only, so the checkpoint's
    classifier variables (Logits, AuxLogits) are ignored. Without a
    configured checkpoint file the encoder keeps its random initialisation
    (a warning says so) instead of failing at the first restore.
    """
    if self.mode == "inference":
      return
    if not self.config.inception_checkpoint_file:
      tf.logging.warning(
          "No Inception v3 checkpoint file is set: the image encoder starts "
          "from random weights (train measures their batch-norm statistics "
          "on the first batches). Pass --inception_checkpoint_file for real "
          "training runs.")
      return
    saver = tf.train.Saver(self.inception_variables)

    def restore_fn(sess):
      tf.logging.info("Restoring Inception variables from checkpoint file %s",
                      self.config.inception_checkpoint_file)
      checkpoints.restore(saver, sess, self.config.inception_checkpoint_file)

    self.init_fn = restore_fn

  def setup_global_step(self):
    """Creates the int32 global step, or takes the graph's (several clones
    share one). Not get_or_create: the dtype matters for checkpoint
    compatibility."""
    existing = tf.get_collection(tf.GraphKeys.GLOBAL_STEP)
    if existing:
      self.global_step = existing[0]
      return
    global_step = tf.Variable(
        initial_value=0,
        name="global_step",
        trainable=False,
        collections=[tf.GraphKeys.GLOBAL_STEP, tf.GraphKeys.GLOBAL_VARIABLES])

    self.global_step = global_step

  def build(self):
    """Builds the whole graph for this mode, in dependency order."""
    if self.truth_probability_fn is not None:
      self.setup_global_step()  # The schedule follows the global step.
      self.truth_probability = self.truth_probability_fn(self.global_step)
    self.build_inputs()
    self.build_image_embeddings()
    self.build_seq_embeddings()
    self.build_model()
    self.setup_inception_initializer()
    self.setup_global_step()
