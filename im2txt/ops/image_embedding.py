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
"""Image embedding ops: the Inception v3 encoder of Show and Tell.

Wraps tf-slim's ``inception_v3_base`` (the ``InceptionV3/...`` variable names
of the official ``inception_v3_2016_08_28`` checkpoint) with im2txt's
arg-scope, average pooling and dropout, giving one 2048-d vector per image.
"""

# TF1 behaviour, tf-slim fixes.
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets.inception_v3 import inception_v3_base

from im2txt.data import schema

# Collection that holds the batch-norm moving statistics, as in the original.
MOVING_VARS_COLLECTION = "moving_vars"

# Size of the encoder output, the average-pooled last Inception block.
OUTPUT_SIZE = 2048
# Update ops of batch_norm_calibration_updates (kept out of UPDATE_OPS).
CALIBRATION_UPDATES_COLLECTION = "inception_batch_norm_calibration"

# Arithmetic of the encoder's forward pass (see inception_v3's
# compute_dtype). Variables and checkpoints are float32 either way.
FLOAT32 = "float32"
BFLOAT16 = "bfloat16"
COMPUTE_DTYPES = (FLOAT32, BFLOAT16)


def _cast_weights_getter(compute_dtype):
  """A custom getter: float32 variables, convolution weights cast on read.

  Layers that see `compute_dtype` inputs ask for `compute_dtype` variables.
  The getter creates (or reuses) every variable as float32 under its usual
  name, so the checkpoint is the same, and hands convolution weights to the
  layer as `compute_dtype` copies. Batch-norm parameters and statistics stay
  float32, which is what the fused batch-norm kernel takes beside bfloat16
  activations, and keeps the normalisation itself in full precision.
  """
  # The signature of a TF1 custom getter.
  def getter(next_getter, name, shape=None, dtype=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
    variable = next_getter(name, shape, tf.float32, *args, **kwargs)
    if dtype == compute_dtype and name.endswith("/weights"):
      return tf.cast(variable, compute_dtype)
    return variable
  return getter


def check_compute_dtype(compute_dtype, trainable):
  """Raises ValueError unless `compute_dtype` can run this encoder."""
  if compute_dtype not in COMPUTE_DTYPES:
    raise ValueError("Unknown encoder dtype %r; expected one of %s"
                     % (compute_dtype, ", ".join(COMPUTE_DTYPES)))
  if compute_dtype != FLOAT32 and trainable:
    raise ValueError(
        "The %s encoder is for a frozen Inception v3 only (phase 1, "
        "feature caching, inference); train it (phase 2, "
        "--train_inception=true) in float32." % compute_dtype)


def _summarize_activation(activation):
  """Adds a histogram and, for ReLU outputs, a zero-fraction summary."""
  name = activation.op.name
  is_relu = activation.op.type == "Relu"
  # Summary ops take float32 (the bfloat16 encoder's activations are cast).
  activation = tf.cast(activation, tf.float32)
  tf.summary.histogram(name + "/activation", activation)
  if is_relu:
    tf.summary.scalar(name + "/zero_fraction", tf.nn.zero_fraction(activation))


def _batch_norm_params(is_training, trainable, decay, updates_collection):
  """Arguments of slim.batch_norm for the encoder's convolutions."""
  return {
      "is_training": is_training,
      "trainable": trainable,
      # Moving-average decay of the batch statistics.
      "decay": decay,
      # Added to the variance before the square root.
      "epsilon": 0.001,
      # The moving statistics are also gathered in their own collection.
      "variables_collections": {
          "beta": None,
          "gamma": None,
          "moving_mean": [MOVING_VARS_COLLECTION],
          "moving_variance": [MOVING_VARS_COLLECTION],
      },
      # A list, not the bare collection name: see im2txt.tf_compat.
      "updates_collections": [updates_collection],
  }


def inception_v3(images,
                 trainable=True,
                 is_training=True,
                 weight_decay=0.00004,
                 stddev=0.1,
                 dropout_keep_prob=0.8,
                 use_batch_norm=True,
                 batch_norm_params=None,
                 add_summaries=True,
                 scope=schema.ENCODER_SCOPE,
                 compute_dtype=FLOAT32,
                 reuse=None):
  """Encodes images with Inception v3 into one 2048-d vector each.

  Args:
    images: A float32 Tensor of shape [batch, height, width, channels] with
      values in [-1, 1].
    trainable: Python bool; whether the encoder's variables are trained (and
      get L2 weight decay). False in phase 1, True in phase 2.
    is_training: Python bool; training mode of the surrounding model. The
      encoder itself only runs batch norm in training mode and applies
      dropout when both this and `trainable` are True.
    weight_decay: L2 coefficient on conv and fully connected weights.
    stddev: Standard deviation of the truncated-normal weight initializer.
    dropout_keep_prob: Keep probability of the dropout after pooling.
    use_batch_norm: Whether convolutions are followed by batch norm.
    batch_norm_params: Overrides the batch-norm arguments (see
      tf_slim.batch_norm); None uses the defaults below.
    add_summaries: Whether to add activation summaries for each end point.
    scope: Variable scope of the encoder.
    compute_dtype: "float32" (the original) or "bfloat16": the convolutions
      then run on bfloat16 images, weights and activations (about twice as
      fast on processors with bfloat16 instructions), batch norm with its
      float32 statistics; the output is cast back to float32. The variables
      are float32 and named as always. Only for a frozen encoder.
    reuse: True to run the encoder whose variables already exist (a second
      feed of the same model); None creates them.

  Returns:
    A float32 Tensor of shape [batch, 2048]: the average-pooled output of the
    last Inception block (8 x 8 x 2048 for 299 x 299 inputs), after dropout
    when training the encoder.

  Raises:
    ValueError: For an unknown compute_dtype, or bfloat16 with trainable.
  """
  check_compute_dtype(compute_dtype, trainable)
  # A frozen encoder (phase 1) keeps batch norm on its moving statistics and
  # skips its dropout, even while the embedding and LSTM train around it.
  is_inception_model_training = trainable and is_training

  if use_batch_norm:
    if not batch_norm_params:
      batch_norm_params = _batch_norm_params(
          is_training=is_inception_model_training, trainable=trainable,
          decay=0.9997, updates_collection=tf.GraphKeys.UPDATE_OPS)
  else:
    batch_norm_params = None

  if trainable:
    weights_regularizer = slim.l2_regularizer(weight_decay)
  else:
    weights_regularizer = None

  custom_getter = None
  if compute_dtype != FLOAT32:
    images = tf.cast(images, compute_dtype)
    custom_getter = _cast_weights_getter(tf.as_dtype(compute_dtype))

  with tf.variable_scope(scope, schema.ENCODER_SCOPE, [images], reuse=reuse,
                         custom_getter=custom_getter) as var_scope:
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=weights_regularizer,
        trainable=trainable):
      with slim.arg_scope(
          [slim.conv2d],
          weights_initializer=tf.truncated_normal_initializer(stddev=stddev),
          activation_fn=tf.nn.relu,
          normalizer_fn=slim.batch_norm,
          normalizer_params=batch_norm_params):
        net, end_points = inception_v3_base(images, scope=var_scope)
        with tf.variable_scope("logits"):
          shape = net.get_shape()
          # [batch, 8, 8, 2048] -> [batch, 1, 1, 2048]
          net = slim.avg_pool2d(net, shape[1:3], padding="VALID", scope="pool")
          net = slim.dropout(
              net,
              keep_prob=dropout_keep_prob,
              is_training=is_inception_model_training,
              scope="dropout")
          # [batch, 1, 1, 2048] -> [batch, 2048]
          net = slim.flatten(net, scope="flatten")
          if compute_dtype != FLOAT32:
            net = tf.cast(net, tf.float32)

  if add_summaries:
    for v in end_points.values():
      _summarize_activation(v)

  return net


def batch_norm_calibration_updates(images, decay=0.9,
                                   scope=schema.ENCODER_SCOPE):
  """Ops that move the encoder's batch-norm statistics towards `images`'.

  For an encoder that starts from random weights instead of the Inception
  checkpoint. Its moving statistics are then the initial 0 (mean) and 1
  (variance), which do not normalise anything: activations grow or shrink
  through 94 layers and the pooled features of all images become nearly the
  same, so a frozen random encoder (phase 1) tells the decoder nothing
  about the image, and phase 2 jumps to different (batch) statistics.
  Running these ops on a few batches sets each layer's statistics to those
  of its actual inputs, layer after layer in one pass, as a pretrained
  checkpoint's statistics would be.

  The ops belong to a second encoder tower that shares every variable and
  runs batch norm in training mode; it adds no variables, no summaries and
  nothing to UPDATE_OPS, so the model and its checkpoints are unchanged.

  Args:
    images: A float32 Tensor [batch, height, width, 3] in [-1, 1].
    decay: Moving-average decay per run of the ops.
    scope: Variable scope of the encoder to calibrate.

  Returns:
    The list of update ops; run them together, once per batch.
  """
  batch_norm_params = _batch_norm_params(
      is_training=True, trainable=False, decay=decay,
      updates_collection=CALIBRATION_UPDATES_COLLECTION)
  with tf.name_scope("batch_norm_calibration"):
    inception_v3(images, trainable=False, is_training=True,
                 batch_norm_params=batch_norm_params, add_summaries=False,
                 scope=scope, reuse=True)
  return tf.get_collection(CALIBRATION_UPDATES_COLLECTION)


def check_encoder_dtype(encoder_dtype, train_inception=False,
                        features_file_pattern=""):
  """Raises ValueError unless the encoder can run in `encoder_dtype` here:
  a known dtype; bfloat16 only for a frozen encoder, and not when training
  from cached features, where the encoder does not run."""
  check_compute_dtype(encoder_dtype, train_inception)
  if features_file_pattern and encoder_dtype != FLOAT32:
    raise ValueError(
        "--encoder_dtype has no effect with --features_file_pattern: the "
        "encoder does not run when training from cached features; its dtype "
        "is chosen when they are cached (cache_features --encoder_dtype).")


def encoder_variables_only(height, width, scope=schema.ENCODER_SCOPE):
  """Creates the encoder's variables on an input that nothing feeds.

  For training from cached features: the checkpoint layout stays that of
  image training (the encoder is restored and saved), but the encoder
  never runs.
  """
  inception_v3(
      tf.placeholder(tf.float32, [None, height, width, 3],
                     name="unused_encoder_input"),
      trainable=False, is_training=False, add_summaries=False, scope=scope)
