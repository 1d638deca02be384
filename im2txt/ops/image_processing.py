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
"""Image preprocessing of Show and Tell: decode, resize, crop, distort."""

# TF1 behaviour.
from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf


def distort_image(image, thread_id):
  """Applies a random flip and a colour distortion (training only).

  Args:
    image: A float32 Tensor of shape [height, width, 3] with values in [0, 1).
    thread_id: Id of the preprocessing thread; its parity picks one of two
      orders of the colour ops, so an even number of threads sees both.

  Returns:
    A float32 Tensor of shape [height, width, 3] with values in [0, 1].
  """
  with tf.name_scope("flip_horizontal", values=[image]):
    image = tf.image.random_flip_left_right(image)

  # Two orders of the same four colour ops, chosen by thread parity.
  color_ordering = thread_id % 2
  with tf.name_scope("distort_color", values=[image]):
    if color_ordering == 0:
      image = tf.image.random_brightness(image, max_delta=32. / 255.)
      image = tf.image.random_saturation(image, lower=0.5, upper=1.5)
      image = tf.image.random_hue(image, max_delta=0.032)
      image = tf.image.random_contrast(image, lower=0.5, upper=1.5)
    elif color_ordering == 1:
      image = tf.image.random_brightness(image, max_delta=32. / 255.)
      image = tf.image.random_contrast(image, lower=0.5, upper=1.5)
      image = tf.image.random_saturation(image, lower=0.5, upper=1.5)
      image = tf.image.random_hue(image, max_delta=0.032)

    # Brightness and contrast shifts can leave [0, 1]; clamp back.
    image = tf.clip_by_value(image, 0.0, 1.0)

  return image


def process_image(encoded_image,
                  is_training,
                  height,
                  width,
                  resize_height=346,
                  resize_width=346,
                  thread_id=0,
                  image_format="jpeg"):
  """Turns an encoded image into the model's [-1, 1] input tensor.

  Decode, bilinear resize to resize_height x resize_width (aspect ratio not
  kept), crop to height x width (random when training, central otherwise),
  random flip and colour distortion when training, then rescale.

  Args:
    encoded_image: A string scalar Tensor holding the encoded image.
    is_training: Python bool; random crop and distortions when True.
    height: Output height in pixels.
    width: Output width in pixels.
    resize_height: Height of the resize before cropping; 0 skips the resize.
    resize_width: Width of the resize before cropping; 0 skips the resize.
    thread_id: Preprocessing thread id; picks the colour-op order, and only
      thread 0 writes image summaries.
    image_format: "jpeg" or "png".

  Returns:
    A float32 Tensor of shape [height, width, 3] with values in [-1, 1].

  Raises:
    ValueError: If image_format is invalid, or only one of the resize
      dimensions is positive.
  """
  # Image summaries from one thread are enough to watch the pipeline.
  def image_summary(name, image):
    if not thread_id:
      tf.summary.image(name, tf.expand_dims(image, 0))

  with tf.name_scope("decode", values=[encoded_image]):
    if image_format == "jpeg":
      image = tf.image.decode_jpeg(encoded_image, channels=3)
    elif image_format == "png":
      image = tf.image.decode_png(encoded_image, channels=3)
    else:
      raise ValueError("Invalid image format: %s" % image_format)
  # uint8 [H, W, 3] -> float32 [H, W, 3] in [0, 1).
  image = tf.image.convert_image_dtype(image, dtype=tf.float32)
  image_summary("original_image", image)

  if (resize_height > 0) != (resize_width > 0):
    raise ValueError("resize_height and resize_width must both be positive or "
                     "both be 0; got %d and %d" % (resize_height, resize_width))
  if resize_height:
    image = tf.image.resize_images(image,
                                   size=[resize_height, resize_width],
                                   method=tf.image.ResizeMethod.BILINEAR)

  # [resize_height, resize_width, 3] -> [height, width, 3]
  if is_training:
    image = tf.random_crop(image, [height, width, 3])
  else:
    image = tf.image.resize_image_with_crop_or_pad(image, height, width)

  image_summary("resized_image", image)

  if is_training:
    image = distort_image(image, thread_id)

  image_summary("final_image", image)

  # [0, 1] -> [-1, 1], the range Inception v3 was trained on.
  image = tf.subtract(image, 0.5)
  image = tf.multiply(image, 2.0)
  return image
