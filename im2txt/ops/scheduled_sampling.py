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
"""Scheduled sampling (Bengio et al. 2015) for the LSTM decoder.

Teacher forcing feeds the decoder the ground-truth previous word at every
step; at inference it reads its own. Scheduled sampling feeds, at each step
after the first and independently per caption, the ground-truth word with
probability p and otherwise a word sampled from the model's own softmax of
the previous step, with p decaying as training goes on. The decay is one of
the paper's three, counted in steps i = max(0, global_step - start_step):

  inverse_sigmoid   p = k / (k + exp(i / k))        (k >= 1)
  linear            p = 1 - slope * i
  exponential       p = base ** i                    (base < 1)

each no lower than a floor. The fields are TrainingConfig's
scheduled_sampling_*; ``truth_probability`` builds p, ``decode`` the
decoder. At p = 1 the decoder computes exactly the teacher-forced logits.
"""

import math

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

DECAYS = ("inverse_sigmoid", "linear", "exponential")


def check_config(training_config):
  """Raises ValueError for an unusable schedule (named field)."""
  decay = training_config.scheduled_sampling_decay
  if decay not in DECAYS:
    raise ValueError("scheduled_sampling_decay must be one of %s, got %r"
                     % (", ".join(DECAYS), decay))
  if decay == "inverse_sigmoid" and training_config.scheduled_sampling_k < 1:
    raise ValueError("scheduled_sampling_k must be at least 1, got %r"
                     % training_config.scheduled_sampling_k)
  base = training_config.scheduled_sampling_exponential_base
  if decay == "exponential" and not 0 < base < 1:
    raise ValueError("scheduled_sampling_exponential_base must be in (0, 1), "
                     "got %r" % base)
  floor = training_config.scheduled_sampling_min_truth_probability
  if not 0 <= floor <= 1:
    raise ValueError("scheduled_sampling_min_truth_probability must be in "
                     "[0, 1], got %r" % floor)


def schedule_value(training_config, global_step):
  """p at a global step, in Python (the same formula as the graph's)."""
  start = training_config.scheduled_sampling_start_step
  i = max(0.0, float(global_step - start))
  decay = training_config.scheduled_sampling_decay
  if decay == "inverse_sigmoid":
    k = float(training_config.scheduled_sampling_k)
    # k / (k + exp(i / k)), written to stay finite for large i.
    p = 1.0 / (1.0 + math.exp(min(i / k - math.log(k), 700.0)))
  elif decay == "linear":
    p = 1.0 - training_config.scheduled_sampling_linear_slope * i
  else:
    p = training_config.scheduled_sampling_exponential_base ** i
  return min(1.0, max(training_config.scheduled_sampling_min_truth_probability,
                      p))


def truth_probability(training_config, global_step):
  """The probability of feeding the ground-truth word at this step.

  Args:
    training_config: A TrainingConfig (its scheduled_sampling_* fields).
    global_step: The global step variable.

  Returns:
    A float32 scalar Tensor, also written to TensorBoard as
    scheduled_sampling/truth_probability.
  """
  check_config(training_config)
  with tf.name_scope("scheduled_sampling"):
    i = tf.maximum(tf.constant(0.0, tf.float64),
                   tf.cast(global_step, tf.float64) -
                   float(training_config.scheduled_sampling_start_step))
    decay = training_config.scheduled_sampling_decay
    if decay == "inverse_sigmoid":
      k = float(training_config.scheduled_sampling_k)
      p = tf.sigmoid(math.log(k) - i / k)  # = k / (k + exp(i / k))
    elif decay == "linear":
      p = 1.0 - training_config.scheduled_sampling_linear_slope * i
    else:
      p = tf.pow(tf.constant(
          training_config.scheduled_sampling_exponential_base, tf.float64), i)
    p = tf.clip_by_value(
        p, training_config.scheduled_sampling_min_truth_probability, 1.0)
    # (Not named truth_probability: that is the summary's tag.)
    p = tf.cast(p, tf.float32, name="probability")
  tf.summary.scalar("scheduled_sampling/truth_probability", p)
  return p


def decode(decoder, initial_state, input_seqs, truth_prob, seed=None):
  """Runs the decoder over the caption with scheduled sampling.

  Args:
    decoder: The model's ops/decoder.Decoder (its embedding, LSTM step and
      logits, with the LSTM's training dropout).
    initial_state: The LSTM state after the image.
    input_seqs: int64 [batch, T], the ground-truth input words.
    truth_prob: float32 scalar, the probability of feeding the truth.
    seed: Optional op seed of the coin flips and samples.

  Returns:
    (logits float32 [batch, T, vocab_size], fed int64 [batch, T]: the words
    the decoder read, the first always the ground truth's).
  """
  decoder.create_variables()  # Not inside the loop.
  batch = tf.shape(input_seqs)[0]
  length = tf.shape(input_seqs)[1]
  logits_ta = tf.TensorArray(tf.float32, size=length)
  fed_ta = tf.TensorArray(tf.int64, size=length)

  def body(t, state, previous_logits, logits_ta, fed_ta):
    truth = input_seqs[:, t]
    if seed is None:
      coins = tf.random_uniform([batch])
      samples = tf.random.categorical(previous_logits, 1)[:, 0]
    else:
      coins = tf.random_uniform([batch], seed=seed)
      samples = tf.random.categorical(previous_logits, 1, seed=seed + 1)[:, 0]
    use_truth = tf.logical_or(tf.equal(t, 0), coins < truth_prob)
    word = tf.where_v2(use_truth, truth, samples)
    output, state = decoder.step(decoder.embed(word), state)
    logits = decoder.logits(output)
    return (t + 1, state, logits, logits_ta.write(t, logits),
            fed_ta.write(t, word))

  start_logits = tf.zeros(tf.stack([batch, decoder.config.vocab_size]))
  _, _, _, logits_ta, fed_ta = tf.while_loop(
      lambda t, *unused: t < length, body,
      (tf.constant(0), initial_state, start_logits, logits_ta, fed_ta),
      name="scheduled_sampling_decoder")
  return (tf.transpose(logits_ta.stack(), [1, 0, 2]),
          tf.transpose(fed_ta.stack(), [1, 0]))
