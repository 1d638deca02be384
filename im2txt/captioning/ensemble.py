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
"""Ensembles of caption models for beam search, as the paper's 2015
challenge entry used them.

Every member is the inference graph of ShowAndTellModel, built in one graph
under the scope ``member_<i>/`` (its variables restored from its own
checkpoint, whose names have no prefix). A step of the ensemble runs every
member on the same previous words and scores each next word by the average
of the members' log-probabilities:

  log p(w) = (1 / n) * sum_i log p_i(w)

which the beam search then uses as it uses one model's (the scores are
not renormalised: a caption's probability is the geometric mean of its
members' probabilities). The ensemble's state is the members' states side
by side, so members may differ in LSTM and embedding sizes; they must share
the vocabulary (the same vocab_size and word_counts.txt).
"""

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt import show_and_tell_model
from im2txt.inference_utils import inference_wrapper_base

MEMBER_SCOPE = "member_%d"


class EnsembleWrapper(inference_wrapper_base.InferenceWrapperBase):
  """Drives n Show and Tell models as one (see the module docstring)."""

  def __init__(self, encoder_dtype="float32"):
    super(EnsembleWrapper, self).__init__()
    self.encoder_dtype = encoder_dtype
    self.num_members = 0
    self._feeds = {}
    self._fetches = {}
    self._state_sizes = []

  def build_model(self, model_config):
    raise NotImplementedError("An ensemble is built by build_members.")

  def build_members(self, model_configs):
    """Builds every member and the combined tensors in the default graph.

    Args:
      model_configs: One ModelConfig per member, all of one vocab_size.

    Returns:
      A list, per member, of the {checkpoint name: variable} dict that
      restores it.
    """
    var_maps = []
    names = show_and_tell_model
    for i, config in enumerate(model_configs):
      scope = MEMBER_SCOPE % i
      with tf.variable_scope(scope):
        show_and_tell_model.ShowAndTellModel(
            config, mode="inference", encoder_dtype=self.encoder_dtype).build()
      prefix = scope + "/"
      var_maps.append({v.op.name[len(prefix):]: v
                       for v in tf.global_variables()
                       if v.op.name.startswith(prefix) and
                       v.op.name != prefix + "global_step"})
    g = tf.get_default_graph()
    self.num_members = len(model_configs)

    def each(name):
      return [g.get_tensor_by_name((MEMBER_SCOPE % i) + "/" + name)
              for i in range(self.num_members)]

    self._feeds = {key: each(name) for key, name in (
        ("image", names.IMAGE_FEED), ("images", names.IMAGE_BATCH_FEED),
        ("input", names.INPUT_FEED), ("state", names.STATE_FEED))}
    self._state_sizes = [int(t.shape[1]) for t in self._feeds["state"]]
    with tf.name_scope("ensemble"):
      log_probs = [tf.log(s) for s in each(names.SOFTMAX)]
      self._fetches = {
          "initial_state": tf.concat(each(names.INITIAL_STATE), 1,
                                     name="initial_state"),
          "initial_state_batch": tf.concat(
              each(names.INITIAL_STATE_BATCH), 1, name="initial_state_batch"),
          "softmax": tf.exp(tf.add_n(log_probs) / float(self.num_members),
                            name="softmax"),
          "state": tf.concat(each(names.STATE), 1, name="state"),
      }
    return var_maps

  def _split_states(self, state_feed):
    parts, start = [], 0
    for size in self._state_sizes:
      parts.append(state_feed[:, start:start + size])
      start += size
    return parts

  def feed_image(self, sess, encoded_image):
    return sess.run(self._fetches["initial_state"],
                    {feed: encoded_image for feed in self._feeds["image"]})

  def feed_images(self, sess, encoded_images):
    return sess.run(self._fetches["initial_state_batch"],
                    {feed: encoded_images for feed in self._feeds["images"]})

  def inference_step(self, sess, input_feed, state_feed):
    feed_dict = {feed: input_feed for feed in self._feeds["input"]}
    feed_dict.update(zip(self._feeds["state"],
                         self._split_states(state_feed)))
    softmax, state = sess.run(
        [self._fetches["softmax"], self._fetches["state"]], feed_dict)
    return softmax, state, None
