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
"""Inference wrapper of the Show and Tell model, for beam search."""

from im2txt import show_and_tell_model
from im2txt.inference_utils import inference_wrapper_base


class InferenceWrapper(inference_wrapper_base.InferenceWrapperBase):
  """Runs the Show and Tell inference graph through its named tensors."""

  def __init__(self, encoder_dtype="float32"):
    """encoder_dtype: arithmetic of the encoder, "float32" or "bfloat16"."""
    super(InferenceWrapper, self).__init__()
    self.encoder_dtype = encoder_dtype

  def build_model(self, model_config):
    model = show_and_tell_model.ShowAndTellModel(
        model_config, mode="inference", encoder_dtype=self.encoder_dtype)
    model.build()
    return model

  def feed_image(self, sess, encoded_image):
    initial_state = sess.run(
        fetches=show_and_tell_model.INITIAL_STATE,
        feed_dict={show_and_tell_model.IMAGE_FEED: encoded_image})
    return initial_state

  def feed_images(self, sess, encoded_images):
    """Initial states of several images, one row each (batched search)."""
    return sess.run(
        fetches=show_and_tell_model.INITIAL_STATE_BATCH,
        feed_dict={show_and_tell_model.IMAGE_BATCH_FEED: encoded_images})

  def feed_features(self, sess, features):
    """Initial states of cached encoder outputs [n, 2048], one row each."""
    return sess.run(
        fetches=show_and_tell_model.INITIAL_STATE_FEATURES,
        feed_dict={show_and_tell_model.FEATURES_FEED: features})

  def inference_step(self, sess, input_feed, state_feed):
    softmax_output, state_output = sess.run(
        fetches=[show_and_tell_model.SOFTMAX, show_and_tell_model.STATE],
        feed_dict={
            show_and_tell_model.INPUT_FEED: input_feed,
            show_and_tell_model.STATE_FEED: state_feed,
        })
    return softmax_output, state_output, None
