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
"""CIDEr-D of single captions against fixed corpus statistics, for rewards.

The metric is the one MSCOCO's evaluation code reports as "CIDEr" (the
CIDEr-D variant of Vedantam et al. 2015), computed the same way: captions
are whitespace-separated tokens; each caption becomes, for n = 1..4, a
vector of its n-gram counts weighted by log(number of images) -
log(max(1, document frequency)), where an n-gram's document frequency is
the number of images whose references contain it; a candidate's score
against one reference is, per n, the sum over the candidate's n-grams of
min(candidate weight, reference weight) * reference weight divided by the
two vectors' norms, times exp(-delta^2 / (2 * 6^2)) where delta is the
difference of the two captions' lengths as that code counts them (their
number of bigrams); the image's score is 10 times the mean over n and
over its references.

Unlike the evaluation code, which takes the statistics from the captions
it scores, ``CiderD`` takes them once from a reference corpus (the training
references, for self-critical training), so a caption's reward does not
depend on the rest of its batch. On the corpus's own images and captions
the two agree exactly (tested against pycocoevalcap).
"""

import collections
import math

MAX_N = 4
SIGMA = 6.0


def ngram_counts(caption, max_n=MAX_N):
  """Counter of the 1..max_n-grams (tuples) of a whitespace-tokenized
  caption."""
  words = caption.split()
  counts = collections.Counter()
  for n in range(1, max_n + 1):
    for i in range(len(words) - n + 1):
      counts[tuple(words[i:i + n])] += 1
  return counts


class CiderD(object):
  """CIDEr-D scorer with document frequencies of a fixed corpus."""

  def __init__(self, references, max_n=MAX_N, sigma=SIGMA):
    """Computes the corpus statistics.

    Args:
      references: dict image_id -> list of reference captions (tokenized,
        whitespace-separated); the corpus, and the references scored
        against.
      max_n: Longest n-gram.
      sigma: Length-penalty width.

    Raises:
      ValueError: If there are no references.
    """
    if not references:
      raise ValueError("CIDEr-D needs a reference corpus; got none.")
    self.max_n = max_n
    self.sigma = sigma
    self.document_frequency = collections.Counter()
    counted = {}
    for image_id, captions in references.items():
      counts = [ngram_counts(c, max_n) for c in captions]
      counted[image_id] = counts
      self.document_frequency.update(
          set(ngram for c in counts for ngram in c))
    self.log_num_images = math.log(float(len(references)))
    self._references = {image_id: [self._vector(c) for c in counts]
                        for image_id, counts in counted.items()}

  def _vector(self, counts):
    """(per-n dicts of tf-idf weights, per-n norms, length)."""
    weights = [{} for _ in range(self.max_n)]
    squares = [0.0] * self.max_n
    length = 0
    for ngram, count in counts.items():
      n = len(ngram) - 1
      w = float(count) * (self.log_num_images - math.log(
          max(1.0, self.document_frequency.get(ngram, 0.0))))
      weights[n][ngram] = w
      squares[n] += w * w
      if n == 1:  # The evaluation code's length: the number of bigrams.
        length += count
    return weights, [math.sqrt(s) for s in squares], length

  def _similarity(self, candidate, reference):
    (c_weights, c_norms, c_length) = candidate
    (r_weights, r_norms, r_length) = reference
    penalty = math.exp(-float(c_length - r_length) ** 2 /
                       (2 * self.sigma ** 2))
    total = 0.0
    for n in range(self.max_n):
      value = 0.0
      for ngram, w in c_weights[n].items():
        r = r_weights[n].get(ngram, 0.0)
        value += min(w, r) * r
      if c_norms[n] and r_norms[n]:
        value /= c_norms[n] * r_norms[n]
      total += value * penalty
    return total / self.max_n

  def score(self, image_id, caption):
    """CIDEr-D of one caption (tokens joined by spaces) for an image.

    Raises:
      KeyError: If the image has no references in the corpus.
    """
    references = self._references[image_id]
    candidate = self._vector(ngram_counts(caption, self.max_n))
    return 10.0 * sum(self._similarity(candidate, r)
                      for r in references) / len(references)

  def scores(self, image_ids, captions):
    """score() of each (image_id, caption) pair, as a list of floats."""
    return [self.score(i, c) for i, c in zip(image_ids, captions)]
