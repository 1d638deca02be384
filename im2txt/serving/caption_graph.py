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
"""The served captioning graph: images in, captions out, in one graph.

Built on top of the inference model (ShowAndTellModel, mode "inference"),
whose decoder (model.decoder: encoder, projection, LSTM, logits) it calls:

* ``image_statuses`` checks each encoded image of a batch and preprocesses
  the ones that decode, so that one bad image does not fail the batch: the
  decoder's own verdict is taken per image (a tf.data pipeline that drops
  elements whose decoding raised), with the reason named when it is known
  beforehand (empty, not JPEG or PNG, more than MAX_IMAGE_PIXELS pixels);
* ``encode_images`` is the model's image path (Inception v3, the image
  embedding, the LSTM's first step) on a batch;
* the in-graph beam search steps with the decoder's ``softmax_step`` (word
  embedding, LSTM, softmax);
* ``caption_outputs`` runs graph_beam_search on them and turns word ids
  into caption text with a vocabulary table.
"""

import collections

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import image_checks
from im2txt.inference_utils import graph_beam_search
from im2txt.ops import model_inputs

# Per-image status of the caption signature.
STATUS_OK = "ok"
STATUS_EMPTY = "empty"
STATUS_NOT_AN_IMAGE = "not_jpeg_or_png"
STATUS_TOO_LARGE = "too_large"
STATUS_UNDECODABLE = "undecodable"

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CaptionOutputs = collections.namedtuple(
    "CaptionOutputs", ["captions", "log_probabilities", "word_ids",
                       "lengths", "status"])


def _per_image(fn, encoded_images, fallback, shape):
  """fn on each image; images where fn raised are marked, not fatal.

  Args:
    fn: Function of one encoded image (scalar string) -> Tensor.
    encoded_images: string [n].
    fallback: An encoded image on which fn succeeds (a sentinel appended
      to the batch, so that the pipeline is never empty).
    shape: The shape of fn's output.

  Returns:
    (values [n, *shape], ok bool [n]); values are zeros where not ok.
  """
  n = tf.shape(encoded_images)[0]
  inputs = tf.concat([encoded_images, [fallback]], axis=0)
  dataset = tf.data.Dataset.from_tensor_slices(
      (tf.range(n + 1), inputs)).map(
          lambda i, e: (i, fn(e)),
          num_parallel_calls=tf.data.experimental.AUTOTUNE)  # keeps order
  dataset = dataset.apply(tf.data.experimental.ignore_errors())
  dataset = dataset.batch(tf.cast(n + 1, tf.int64))
  indices, values = tf.data.experimental.get_single_element(dataset)
  values.set_shape([None] + list(shape))
  keep = indices < n  # drop the sentinel
  indices = tf.boolean_mask(indices, keep)
  values = tf.boolean_mask(values, keep)
  ok = tf.scatter_nd(indices[:, None], tf.ones_like(indices), [n]) > 0
  full = tf.scatter_nd(indices[:, None], values,
                       tf.concat([[n], tf.constant(shape, tf.int32)], 0))
  return full, ok


def _pixels(encoded_image):
  """Pixels declared by a JPEG or PNG header (int64), without decoding."""
  def png_pixels():
    # IHDR: width and height, big-endian uint32, at bytes 16-23.
    size = tf.io.decode_raw(tf.strings.substr(encoded_image, 16, 8),
                            tf.int32, little_endian=False)
    return tf.cast(size[0], tf.int64) * tf.cast(size[1], tf.int64)

  def jpeg_pixels():
    shape = tf.cast(tf.image.extract_jpeg_shape(encoded_image), tf.int64)
    return shape[0] * shape[1]

  is_png = tf.equal(tf.strings.substr(encoded_image, 0, 8), _PNG_MAGIC)
  return tf.cond(is_png, png_pixels, jpeg_pixels)


def image_statuses(config, encoded_images):
  """Checks and preprocesses a batch of encoded images.

  Args:
    config: The model's ModelConfig (image size, resize).
    encoded_images: string [n], JPEG or PNG bytes.

  Returns:
    (images float32 [n, height, width, 3] (zeros where not ok),
     status string [n] (STATUS_*), ok bool [n]).
  """
  fallback = tf.image.encode_jpeg(tf.zeros([8, 8, 3], tf.uint8))
  lengths = tf.strings.length(encoded_images)
  empty = tf.equal(lengths, 0)
  magic_ok = tf.logical_or(
      tf.equal(tf.strings.substr(encoded_images, 0, 3), _JPEG_MAGIC),
      tf.equal(tf.strings.substr(encoded_images, 0, 8), _PNG_MAGIC))
  known = tf.logical_and(tf.logical_not(empty), magic_ok)
  # Headers first: an image declaring too many pixels is never decoded.
  pixels, header_ok = _per_image(_pixels, encoded_images, fallback, [])
  too_large = tf.logical_and(
      header_ok, pixels > image_checks.MAX_IMAGE_PIXELS)
  allowed = tf.logical_and(known, tf.logical_not(too_large))
  # Images not allowed are swapped for the fallback before decoding.
  safe = tf.where_v2(allowed, encoded_images,
                     tf.fill(tf.shape(encoded_images), fallback))
  images, decoded = _per_image(
      lambda e: model_inputs.process_image(config, False, e, thread_id=1),
      safe, fallback, [config.image_height, config.image_width, 3])
  ok = tf.logical_and(allowed, decoded)
  status = tf.where_v2(
      empty, STATUS_EMPTY,
      tf.where_v2(tf.logical_not(magic_ok), STATUS_NOT_AN_IMAGE,
                  tf.where_v2(too_large, STATUS_TOO_LARGE,
                              tf.where_v2(ok, STATUS_OK,
                                          STATUS_UNDECODABLE))))
  return images, status, ok


def encode_images(model, images):
  """The LSTM state after each image, [n, 2 * num_lstm_units] ([c | h])."""
  return model.decoder.image_states(images)


def encode_images_of(model, images, rows):
  """encode_images on images[rows], [size(rows), 2U], rows possibly empty.

  The encoder never sees an empty batch: with no rows it runs on one black
  image whose state is dropped. TensorFlow's oneDNN convolutions fail on a
  batch of 0 images (their output keeps the input's depth, so the next
  convolution raises "input depth must be evenly divisible by filter
  depth: 3 vs 32"), and a request whose images were all rejected is normal.
  """
  num_rows = tf.size(rows)
  selected = tf.gather(images, rows)
  black = tf.zeros(tf.concat([[1], tf.shape(images)[1:]], 0), images.dtype)
  padded = tf.concat([selected, black], 0)[:tf.maximum(num_rows, 1)]
  return encode_images(model, padded)[:num_rows]


def _caption_batch(model, encoded_images, table, vocab, beam_size,
                   max_caption_length, length_normalization_factor):
  """caption_outputs on one batch of images, all at once."""
  images, status, ok = image_statuses(model.config, encoded_images)
  # Only decodable images are searched.
  good = tf.cast(tf.where(ok)[:, 0], tf.int32)
  states = encode_images_of(model, images, good)
  search = graph_beam_search.beam_search(
      model.decoder.softmax_step, states, vocab.start_id,
      vocab.end_id, beam_size, max_caption_length,
      length_normalization_factor)

  # Words are ids 1 .. length - 1, without a final end word.
  words = table.lookup(search.ids[:, :, 1:])
  num_words = search.lengths - 1 - tf.cast(search.complete[:, None],
                                           tf.int32)
  in_caption = tf.sequence_mask(num_words, max_caption_length - 1)
  captions = tf.strings.strip(tf.strings.reduce_join(
      tf.where_v2(in_caption, words, ""), axis=2, separator=" "))

  # Back to the request's order; images not captioned get no captions.
  n = tf.shape(encoded_images)[0]
  row = tf.scatter_nd(good[:, None], tf.range(tf.size(good)) + 1, [n]) - 1
  has_row = row >= 0
  row = tf.maximum(row, 0)

  def scatter(values, fill):
    # An empty search has no row 0 to gather: pad one row of `fill`.
    padded = tf.concat([values, tf.fill(tf.concat(
        [[1], tf.shape(values)[1:]], 0), tf.cast(fill, values.dtype))], 0)
    rows = tf.where_v2(has_row, row, tf.shape(values)[0])
    return tf.gather(padded, rows)

  return CaptionOutputs(
      captions=scatter(captions, ""),
      log_probabilities=scatter(tf.cast(search.logprobs, tf.float32),
                                float("-inf")),
      word_ids=scatter(search.ids, graph_beam_search.PAD_ID),
      lengths=scatter(search.lengths, 0),
      status=status)


def _in_batches(caption_batch, encoded_images, images_per_batch):
  """caption_batch on consecutive slices of at most `images_per_batch`
  images, one after the other, its outputs concatenated in order.

  Only one slice's decoded images, encoder activations and search exist at
  a time, so memory is bounded by the slice, not the request. An empty
  request is one empty slice (caption_batch handles it).
  """
  n = tf.shape(encoded_images)[0]
  num_batches = tf.maximum((n + images_per_batch - 1) // images_per_batch, 1)
  probe = CaptionOutputs._fields
  dtypes = {"captions": tf.string, "log_probabilities": tf.float32,
            "word_ids": tf.int64, "lengths": tf.int32, "status": tf.string}
  arrays = [tf.TensorArray(dtypes[name], size=num_batches, infer_shape=False)
            for name in probe]

  def body(i, *arrays):
    start = i * images_per_batch
    outputs = caption_batch(encoded_images[start:start + images_per_batch])
    return (i + 1,) + tuple(array.write(i, value)
                            for array, value in zip(arrays, outputs))

  results = tf.while_loop(
      lambda i, *unused: i < num_batches, body, [tf.constant(0)] + arrays,
      parallel_iterations=1, back_prop=False, name="caption_batches")
  return CaptionOutputs(*[array.concat() for array in results[1:]])


def caption_outputs(model, encoded_images, words_file, vocab, beam_size,
                    max_caption_length, length_normalization_factor,
                    images_per_batch=0):
  """The caption signature's outputs for a batch of encoded images.

  Args:
    model: The built inference ShowAndTellModel (its variables are used).
    encoded_images: string [n].
    words_file: string Tensor, path of a text file with one word per line,
      line i the word of id i (the SavedModel's vocabulary asset).
    vocab: The Vocabulary (start, end and unknown words).
    beam_size, max_caption_length, length_normalization_factor: The search.
    images_per_batch: Caption the request in consecutive batches of at most
      this many images (its memory then does not grow with the request);
      0: all images at once.

  Returns:
    A CaptionOutputs: captions string [n, beam_size] (words joined by
    spaces, without start and end words; "" where there is no caption),
    log_probabilities float32 [n, beam_size] (-inf where no caption),
    word_ids int64 [n, beam_size, max_caption_length] (start word first,
    graph_beam_search.PAD_ID after the end), lengths int32 [n, beam_size],
    status string [n] (STATUS_OK or why the image was not captioned).
  """
  table = tf.lookup.StaticHashTable(
      tf.lookup.TextFileInitializer(
          words_file, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
          tf.string, tf.lookup.TextFileIndex.WHOLE_LINE),
      default_value=vocab.id_to_word(vocab.unk_id))

  def caption_batch(images):
    return _caption_batch(model, images, table, vocab, beam_size,
                          max_caption_length, length_normalization_factor)

  if images_per_batch < 0:
    raise ValueError("images_per_batch must be 0 (all at once) or positive, "
                     "got %d" % images_per_batch)
  if not images_per_batch:
    return caption_batch(encoded_images)
  outputs = _in_batches(caption_batch, encoded_images, images_per_batch)
  # The concatenated arrays lose the static shapes the signature declares.
  outputs.captions.set_shape([None, beam_size])
  outputs.log_probabilities.set_shape([None, beam_size])
  outputs.word_ids.set_shape([None, beam_size, max_caption_length])
  outputs.lengths.set_shape([None, beam_size])
  outputs.status.set_shape([None])
  return outputs
