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
"""Beam search inside the graph (a tf.while_loop), for served models.

The search is caption_generator.CaptionGenerator's, step for step, on a
batch of images at once:

* every live caption is extended by its beam_size most probable next words
  (tf.nn.top_k: ties keep the lower word id), words of probability below
  1e-12 are ignored;
* an extension ending in the end word joins the image's complete captions,
  scored logprob / length ** length_normalization_factor when the factor
  is positive (length counts the start and end words), any other joins its
  partial captions; each set keeps its beam_size best;
* an image is done after max_caption_length - 1 steps or when it has no
  partial caption left; its result is its complete captions, best first,
  or its partial captions if none completed.

Log-probabilities are summed in float64, as the Python search does, so the
two agree to the last few bits. Images whose search has ended stay in the
batch until every image is done; their beams no longer change.
"""

import collections

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.inference_utils import caption_generator

# The Python search's threshold: log(p) of smaller p is not used.
MIN_PROBABILITY = 1e-12

# Word id of the positions past a caption's end in BeamSearchOutput.ids.
PAD_ID = -1

BeamSearchOutput = collections.namedtuple(
    "BeamSearchOutput", ["ids", "lengths", "logprobs", "scores", "valid",
                         "complete"])
BeamSearchOutput.__doc__ = """Captions of each image, best first.

  ids: int64 [batch, beam_size, max_caption_length], start word first,
    PAD_ID past the caption's length.
  lengths: int32 [batch, beam_size], ids per caption (start and end words
    included); 0 for a missing caption.
  logprobs: float64 [batch, beam_size], natural-log probability.
  scores: float64 [batch, beam_size], the ranking score (logprobs, or the
    length-normalised value for complete captions).
  valid: bool [batch, beam_size]; False where an image has fewer captions
    than beam_size (its logprobs and scores are -inf there).
  complete: bool [batch]; whether the captions ended in the end word (False
    when the image fell back to its partial captions).
"""


def _gather_beams(values, beam_indices):
  """values [B, k, ...] -> values[b, beam_indices[b, j], ...], [B, k', ...]."""
  return tf.gather(values, beam_indices, axis=1, batch_dims=1)


def beam_search(step_fn, initial_states, start_id, end_id, beam_size,
                max_caption_length, length_normalization_factor=0.0):
  """Builds the search; returns a BeamSearchOutput.

  Args:
    step_fn: Function (input_ids int64 [n], states float32 [n, S]) ->
      (softmax float32 [n, vocab_size], new states float32 [n, S]), one
      decoder step (vocab_size at least beam_size).
    initial_states: float32 [batch, S], the state after each image.
    start_id: Id of the start word.
    end_id: Id of the end word.
    beam_size: Captions kept per image (Python int, at least 1).
    max_caption_length: Most ids in a caption, start and end words included
      (Python int, at least 1).
    length_normalization_factor: See CaptionGenerator.

  Raises:
    ValueError: If beam_size or max_caption_length is below 1.
  """
  caption_generator.check_search_settings(beam_size, max_caption_length)
  k = beam_size
  length = max_caption_length
  state_size = initial_states.shape[1]
  batch = tf.shape(initial_states)[0]
  neg_inf = tf.constant(float("-inf"), tf.float64)

  def positions(t):
    """One-hot [length] int64 of position t."""
    return tf.one_hot(t, length, dtype=tf.int64)

  # Partial captions: only beam 0 ([<S>]) exists at first.
  first = tf.one_hot(0, k, on_value=True, off_value=False, dtype=tf.bool)
  partial_valid = tf.tile(first[None, :], [batch, 1])
  partial_ids = tf.fill([batch, k, length], tf.constant(0, tf.int64))
  partial_ids += tf.constant(start_id, tf.int64) * positions(0)
  partial_logprobs = tf.where_v2(partial_valid,
                                 tf.zeros([batch, k], tf.float64),
                                 tf.fill([batch, k], neg_inf))
  partial_states = tf.tile(initial_states[:, None, :], [1, k, 1])
  complete_ids = tf.zeros([batch, k, length], tf.int64)
  complete_logprobs = tf.fill([batch, k], neg_inf)
  complete_scores = tf.fill([batch, k], neg_inf)
  complete_lengths = tf.zeros([batch, k], tf.int32)

  def extend(t, p_ids, p_logprobs, p_valid, p_states, c_ids, c_logprobs,
             c_scores, c_lengths):
    """Step t: the captions have t + 1 ids; extensions have t + 2."""
    softmax, new_states = step_fn(tf.reshape(p_ids[:, :, t], [-1]),
                                  tf.reshape(p_states, [-1, state_size]))
    probs, words = tf.nn.top_k(softmax, k=k)  # ties: lower id first
    probs = tf.reshape(probs, [batch, k, k])
    words = tf.cast(tf.reshape(words, [batch, k, k]), tf.int64)
    new_states = tf.reshape(new_states, [batch, k, state_size])
    usable = tf.logical_and(
        p_valid[:, :, None], probs >= tf.constant(MIN_PROBABILITY, probs.dtype))
    logprobs = p_logprobs[:, :, None] + tf.log(tf.cast(probs, tf.float64))
    ends = tf.equal(words, end_id)
    # Candidate j of beam b is extension j of the beam, flattened b * k + j.
    flat_logprobs = tf.reshape(logprobs, [batch, k * k])
    flat_words = tf.reshape(words, [batch, k * k])
    flat_ids = tf.reshape(
        tf.tile(p_ids[:, :, None, :], [1, 1, k, 1]), [batch, k * k, length])
    flat_ids += flat_words[:, :, None] * positions(t + 1)

    # New partial captions: the k best extensions that do not end.
    keep = tf.reshape(tf.logical_and(usable, tf.logical_not(ends)),
                      [batch, k * k])
    scores, chosen = tf.nn.top_k(
        tf.where_v2(keep, flat_logprobs, tf.fill([batch, k * k], neg_inf)), k=k)
    n_valid = scores > neg_inf
    n_ids = _gather_beams(flat_ids, chosen)
    n_states = _gather_beams(new_states, chosen // k)

    # Complete captions: the k best of the old ones and the new endings.
    finished = tf.reshape(tf.logical_and(usable, ends), [batch, k * k])
    finish_scores = flat_logprobs
    if length_normalization_factor > 0:
      finish_scores /= tf.pow(tf.cast(t + 2, tf.float64),
                              tf.constant(length_normalization_factor,
                                          tf.float64))
    nothing = tf.fill([batch, k * k], neg_inf)
    finish_scores = tf.where_v2(finished, finish_scores, nothing)
    all_scores = tf.concat([c_scores, finish_scores], axis=1)
    all_logprobs = tf.concat(
        [c_logprobs, tf.where_v2(finished, flat_logprobs, nothing)], axis=1)
    all_ids = tf.concat([c_ids, flat_ids], axis=1)
    all_lengths = tf.concat(
        [c_lengths, tf.fill([batch, k * k], t + 2)], axis=1)
    c_scores, best = tf.nn.top_k(all_scores, k=k)
    return (tf.where_v2(n_valid[:, :, None], n_ids, tf.zeros_like(n_ids)),
            tf.where_v2(n_valid, scores, tf.fill([batch, k], neg_inf)),
            n_valid, n_states,
            _gather_beams(all_ids, best), _gather_beams(all_logprobs, best),
            c_scores, _gather_beams(all_lengths, best))

  def cond(t, p_ids, p_logprobs, p_valid, *unused):
    del p_ids, p_logprobs, unused
    return tf.logical_and(t < length - 1, tf.reduce_any(p_valid))

  def body(t, *beams):
    return (t + 1,) + extend(t, *beams)

  loop_vars = (tf.constant(0), partial_ids, partial_logprobs, partial_valid,
               partial_states, complete_ids, complete_logprobs,
               complete_scores, complete_lengths)
  (steps, partial_ids, partial_logprobs, partial_valid, _, complete_ids,
   complete_logprobs, complete_scores, complete_lengths) = tf.while_loop(
       cond, body, loop_vars, back_prop=False, name="beam_search")

  # An image whose partial captions all ended stops changing: every later
  # step finds no usable extension (its partial beams are invalid).
  complete_valid = complete_scores > neg_inf
  use_complete = tf.reduce_any(complete_valid, axis=1)
  pick = use_complete[:, None]
  valid = tf.where_v2(pick, complete_valid, partial_valid)
  ids = tf.where_v2(pick[:, :, None], complete_ids, partial_ids)
  lengths = tf.where_v2(pick, complete_lengths, tf.fill([batch, k], steps + 1))
  lengths = tf.where_v2(valid, lengths, tf.zeros_like(lengths))
  pad = tf.sequence_mask(lengths, length)
  return BeamSearchOutput(
      ids=tf.where_v2(pad, ids,
                      tf.fill(tf.shape(ids), tf.constant(PAD_ID, tf.int64))),
      lengths=lengths,
      logprobs=tf.where_v2(pick, complete_logprobs, partial_logprobs),
      scores=tf.where_v2(pick, complete_scores, partial_logprobs),
      valid=valid,
      complete=use_complete)
