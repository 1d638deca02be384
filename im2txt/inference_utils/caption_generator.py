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
"""Beam search over a step-by-step caption model.

The algorithm is the original im2txt beam search as it was before its March
2019 regression (tensorflow/models PR #6255 kept every word *except* the k
most probable, giving empty or one-word captions; tensorflow/models#6513):

  partial = {[<S>]}; complete = {}
  repeat max_caption_length - 1 times:
    run one model step for every partial caption
    for each partial caption, extend it with each of its beam_size most
      probable next words (ties: lower word id first; probabilities below
      1e-12 are ignored); a caption ending in </S> goes to `complete` (score
      optionally divided by len(caption) ** length_normalization_factor),
      any other to the new `partial`
    keep the beam_size best of each set; stop when no partial caption is left
  return `complete` best first, or `partial` best first if nothing completed

Scores are log-probabilities (natural log). There is no early stopping.
"""

import heapq
import math

import numpy as np


class Caption(object):
  """A complete or partial caption; ordered and compared by score only."""

  def __init__(self, sentence, state, logprob, score, metadata=None):
    """Initializes the Caption.

    Args:
      sentence: List of word ids in the caption, start word first.
      state: Model state after generating the previous word.
      logprob: Log-probability of the caption.
      score: Score of the caption (logprob, or its length-normalised value).
      metadata: Optional list of per-word metadata from the model.
    """
    self.sentence = sentence
    self.state = state
    self.logprob = logprob
    self.score = score
    self.metadata = metadata

  def __lt__(self, other):
    assert isinstance(other, Caption)
    return self.score < other.score

  def __eq__(self, other):
    assert isinstance(other, Caption)
    return self.score == other.score

  def __repr__(self):
    return "Caption(sentence=%r, logprob=%r, score=%r)" % (
        self.sentence, self.logprob, self.score)


class TopN(object):
  """Keeps the n largest of the items pushed into it (a min-heap)."""

  def __init__(self, n):
    self._n = n
    self._data = []

  def size(self):
    assert self._data is not None
    return len(self._data)

  def push(self, x):
    """Adds x; when full, x replaces the smallest item if it is larger."""
    assert self._data is not None
    if len(self._data) < self._n:
      heapq.heappush(self._data, x)
    else:
      heapq.heappushpop(self._data, x)

  def extract(self, sort=False):
    """Returns the items (largest first if sort) and empties the store.

    Only reset() may be called afterwards.

    Args:
      sort: If True, sort descending; otherwise heap order.

    Returns:
      A list of at most n items.
    """
    assert self._data is not None
    data = self._data
    self._data = None
    if sort:
      data.sort(reverse=True)
    return data

  def reset(self):
    """Empties the store (also after extract)."""
    self._data = []


def check_search_settings(beam_size, max_caption_length):
  """Raises ValueError if beam_size or max_caption_length is below 1 (the
  rule of this search and of graph_beam_search)."""
  if beam_size < 1:
    raise ValueError("beam_size must be at least 1, got %d" % beam_size)
  if max_caption_length < 1:
    raise ValueError("max_caption_length must be at least 1, got %d"
                     % max_caption_length)


class CaptionGenerator(object):
  """Generates captions of an image with beam search."""

  def __init__(self,
               model,
               vocab,
               beam_size=3,
               max_caption_length=20,
               length_normalization_factor=0.0):
    """Initializes the generator.

    Args:
      model: An object with feed_image(sess, encoded_image) and
        inference_step(sess, input_feed, state_feed), such as an
        InferenceWrapper.
      vocab: A Vocabulary (only start_id and end_id are used).
      beam_size: Beam size to use when generating captions.
      max_caption_length: The maximum caption length, start and end words
        included, before stopping the search.
      length_normalization_factor: If > 0, a number x such that complete
        captions are scored logprob / length**x, which favours longer
        captions; 0 or less scores them by logprob alone.

    Raises:
      ValueError: If beam_size or max_caption_length is below 1.
    """
    check_search_settings(beam_size, max_caption_length)
    self.vocab = vocab
    self.model = model

    self.beam_size = beam_size
    self.max_caption_length = max_caption_length
    self.length_normalization_factor = length_normalization_factor

  def top_words(self, word_probabilities):
    """Ids of the beam_size most probable words, most probable first.

    Ties keep the lower word id first (a stable sort on -p).
    """
    return self.top_words_rows(np.asarray(word_probabilities)[None])[0]

  def top_words_rows(self, probabilities):
    """top_words of every row of a [rows, vocab_size] array: [rows, k].

    The words of a full stable sort on -p, found without sorting the whole
    vocabulary: a partition gives each row's k-th largest probability, and
    only the words at least that probable (k, or more on a tie) are sorted
    stably, in word-id order, so ties keep the lower id first exactly as in
    the full sort. A row with NaN is sorted whole (NaN ranks last).
    """
    probabilities = np.asarray(probabilities)
    rows, size = probabilities.shape
    k = min(self.beam_size, size)
    negated = -probabilities
    if size <= 8 * k:
      return np.argsort(negated, axis=1, kind="stable")[:, :k]
    kth = np.partition(negated, k - 1, axis=1)[:, k - 1]
    top = np.empty((rows, k), dtype=np.int64)
    for row in range(rows):
      candidates = np.flatnonzero(negated[row] <= kth[row])
      if candidates.size < k:  # NaN in the row
        top[row] = np.argsort(negated[row], kind="stable")[:k]
        continue
      order = np.argsort(negated[row, candidates], kind="stable")
      top[row] = candidates[order[:k]]
    return top

  def beam_search(self, sess, encoded_image):
    """Runs beam search caption generation on a single image.

    Args:
      sess: TensorFlow Session object (passed through to the model).
      encoded_image: An encoded image string.

    Returns:
      A list of Caption sorted by descending score.
    """
    # The image sets the LSTM state before the first word.
    initial_state = self.model.feed_image(sess, encoded_image)
    search = _BeamSearch(self, initial_state[0])
    while not search.done:
      beams = search.next_inputs()
      softmax, new_states, metadata = self.model.inference_step(
          sess, np.array([c.sentence[-1] for c in beams]),
          np.array([c.state for c in beams]))
      search.update(beams, softmax, new_states, metadata,
                    self.top_words_rows(softmax))
    return search.result()

  def beam_search_batch(self, sess, encoded_images):
    """Beam search on several images at once, with per-image semantics.

    Each step runs the model once on every live beam of every image
    (images x beam_size rows); each image's beams are then extended, ranked
    and ended exactly as beam_search does for that image alone. The model
    needs feed_images(sess, encoded_images) returning one initial state per
    image (InferenceWrapper has it); otherwise images are fed one by one.

    Args:
      sess: TensorFlow Session object (passed through to the model).
      encoded_images: A list of encoded image strings.

    Returns:
      A list, per image, of lists of Caption sorted by descending score.
    """
    if not encoded_images:
      return []
    if hasattr(self.model, "feed_images"):
      initial_states = self.model.feed_images(sess, list(encoded_images))
    else:
      initial_states = np.concatenate(
          [self.model.feed_image(sess, e) for e in encoded_images])
    return self.beam_search_states(sess, initial_states)

  def beam_search_states(self, sess, initial_states):
    """beam_search_batch from the images' initial LSTM states [n, 2U] (for
    example of cached encoder outputs: the model's feed_features)."""
    searches = [_BeamSearch(self, state) for state in initial_states]
    while True:
      live = [s for s in searches if not s.done]
      if not live:
        break
      beams = [s.next_inputs() for s in live]
      flat = [c for image_beams in beams for c in image_beams]
      softmax, new_states, metadata = self.model.inference_step(
          sess, np.array([c.sentence[-1] for c in flat]),
          np.array([c.state for c in flat]))
      top = self.top_words_rows(softmax)
      start = 0
      for search, image_beams in zip(live, beams):
        end = start + len(image_beams)
        search.update(image_beams, softmax[start:end], new_states[start:end],
                      metadata[start:end] if metadata else None,
                      top[start:end])
        start = end
    return [s.result() for s in searches]


class _BeamSearch(object):
  """The beam of one image: the per-step bookkeeping of beam search."""

  def __init__(self, generator, initial_state):
    self.generator = generator
    self.vocab = generator.vocab
    self.partial_captions = TopN(generator.beam_size)
    self.partial_captions.push(Caption(sentence=[self.vocab.start_id],
                                       state=initial_state, logprob=0.0,
                                       score=0.0, metadata=[""]))
    self.complete_captions = TopN(generator.beam_size)
    self.steps_left = generator.max_caption_length - 1
    self.done = self.steps_left <= 0

  def next_inputs(self):
    """Takes the partial captions to extend in this step."""
    partial_captions_list = self.partial_captions.extract()
    self.partial_captions.reset()
    return partial_captions_list

  def update(self, partial_captions_list, softmax, new_states, metadata,
             top_words):
    """Extends each partial caption by its most probable next words
    (top_words[i]: those of caption i, generator.top_words_rows)."""
    length_normalization_factor = self.generator.length_normalization_factor
    for i, partial_caption in enumerate(partial_captions_list):
      word_probabilities = softmax[i]
      state = new_states[i]
      for w in top_words[i]:
        p = word_probabilities[w]
        if p < 1e-12:
          continue  # log(p) would be -inf or meaningless.
        w = int(w)
        sentence = partial_caption.sentence + [w]
        logprob = partial_caption.logprob + math.log(p)
        score = logprob
        if metadata:
          metadata_list = partial_caption.metadata + [metadata[i]]
        else:
          metadata_list = None
        if w == self.vocab.end_id:
          if length_normalization_factor > 0:
            score /= len(sentence)**length_normalization_factor
          beam = Caption(sentence, state, logprob, score, metadata_list)
          self.complete_captions.push(beam)
        else:
          beam = Caption(sentence, state, logprob, score, metadata_list)
          self.partial_captions.push(beam)
    self.steps_left -= 1
    # Done after max_caption_length - 1 steps, or when every surviving
    # extension ended the caption (e.g. beam_size 1).
    self.done = self.steps_left <= 0 or self.partial_captions.size() == 0

  def result(self):
    """The captions sorted by descending score.

    Falls back to partial captions only when nothing completed: mixing the
    two would rank unfinished captions, whose scores lack the end word's
    cost, above finished ones.
    """
    if not self.complete_captions.size():
      return self.partial_captions.extract(sort=True)
    return self.complete_captions.extract(sort=True)
