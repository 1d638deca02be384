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
"""Self-critical sequence training (Rennie et al. 2017): the decoding and
the loss (the rewards and the phase: im2txt/training/self_critical.py).

For each image the decoder samples a caption from its own softmax and
decodes a greedy one; the reward of the sample is its CIDEr-D against the
image's references minus the greedy caption's (the baseline), and the loss
is the policy gradient -advantage * log p(sample), averaged over the
sampled words (end word included).
"""

import collections

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

Decoded = collections.namedtuple(
    "Decoded", ["sample_ids", "sample_logprobs", "sample_mask",
                "greedy_ids", "greedy_mask"])


def _mask_after_end(ids, end_id):
  """1 up to and including the first end word, 0 after; float32 [B, T]."""
  is_end = tf.cast(tf.equal(ids, end_id), tf.int32)
  ended_before = tf.cumsum(is_end, axis=1, exclusive=True)
  return tf.cast(tf.equal(ended_before, 0), tf.float32)


def sample_and_greedy(decoder, initial_state, start_id, end_id, max_length,
                      seed=None):
  """Decodes a sampled and a greedy caption per image in one loop.

  Rows 0..B-1 sample, rows B..2B-1 take the argmax; both start from the
  image's state. Only the sampled rows' log-probabilities carry gradients.
  The LSTM runs without dropout, so that the greedy baseline is
  deterministic.

  Args:
    decoder: The model's ops/decoder.Decoder.
    initial_state: LSTMStateTuple of [B, units] tensors after the image.
    start_id, end_id: Word ids.
    max_length: Words decoded per caption (after the start word).
    seed: Optional op seed of the samples.

  Returns:
    A Decoded: int64 ids [B, max_length], float32 log-probabilities and
    masks [B, max_length].
  """
  decoder.create_variables()  # Not inside the loop.
  batch = tf.shape(initial_state[0])[0]
  state = tf.nest.map_structure(lambda s: tf.concat([s, s], 0),
                                initial_state)
  words = tf.fill([2 * batch], tf.constant(start_id, tf.int64))
  ids_ta = tf.TensorArray(tf.int64, size=max_length)
  logp_ta = tf.TensorArray(tf.float32, size=max_length)

  def body(t, words, state, ids_ta, logp_ta):
    output, state = decoder.step(decoder.embed(words), state, dropout=False)
    logits = decoder.logits(output)
    log_probs = tf.nn.log_softmax(logits)
    sampled = tf.random.categorical(logits[:batch], 1, seed=seed)[:, 0]
    greedy = tf.argmax(logits[batch:], axis=1)
    chosen = tf.concat([sampled, greedy], 0)
    chosen.set_shape(words.get_shape())
    chosen_logp = tf.reduce_sum(
        log_probs * tf.one_hot(chosen, tf.shape(logits)[1]), axis=1)
    return (t + 1, tf.stop_gradient(chosen), state, ids_ta.write(t, chosen),
            logp_ta.write(t, chosen_logp))

  _, _, _, ids_ta, logp_ta = tf.while_loop(
      lambda t, *unused: t < max_length, body,
      (tf.constant(0), words, state, ids_ta, logp_ta),
      name="self_critical_decoder")
  ids = tf.transpose(ids_ta.stack())
  logps = tf.transpose(logp_ta.stack())
  sample_ids, greedy_ids = ids[:batch], ids[batch:]
  return Decoded(sample_ids, logps[:batch],
                 _mask_after_end(sample_ids, end_id),
                 tf.stop_gradient(greedy_ids),
                 _mask_after_end(greedy_ids, end_id))


def policy_gradient_loss(decoded, advantage):
  """-sum(advantage * log p(sampled word)) over the sampled words / their
  number; advantage float32 [B] (no gradient)."""
  advantage = tf.stop_gradient(advantage)
  weighted = decoded.sample_logprobs * decoded.sample_mask
  return -tf.reduce_sum(advantage[:, None] * weighted) / tf.maximum(
      tf.reduce_sum(decoded.sample_mask), 1.0)
