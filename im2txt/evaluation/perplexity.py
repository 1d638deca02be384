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
"""evaluate's perplexity: its sums, and its summaries in TensorBoard.

Per-word perplexity is exp of the total cross entropy over all real target
words divided by their number (not an average of batch averages), written
as ``Perplexity`` with the mean cross entropy as ``eval/loss`` at the
checkpoint's global step, from images or from cached features alike.
"""

import math

import numpy as np

import tensorflow.compat.v1 as tf

PERPLEXITY_TAG = "Perplexity"
LOSS_TAG = "eval/loss"


class Sums(object):
  """The running sums of the target words' cross entropy and weights."""

  def __init__(self):
    self.losses = 0.
    self.weights = 0.

  def add(self, cross_entropy_losses, weights):
    """Adds one batch: the model's per-word losses and their weights."""
    self.losses += np.sum(cross_entropy_losses * weights)
    self.weights += np.sum(weights)


def write(summary_writer, global_step, sums, seconds):
  """Logs and writes the perplexity of `sums`; returns it."""
  mean_loss = sums.losses / sums.weights
  perplexity = math.exp(mean_loss)
  tf.logging.info("Perplexity = %f (%.2g sec)", perplexity, seconds)
  summary = tf.Summary()
  summary.value.add(tag=PERPLEXITY_TAG, simple_value=perplexity)
  summary.value.add(tag=LOSS_TAG, simple_value=mean_loss)
  summary_writer.add_summary(summary, global_step)
  summary_writer.flush()
  return perplexity
