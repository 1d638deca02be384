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
"""Checking and converting the builder's images.

Each image is decoded once: a JPEG that decodes to 3 channels is stored
byte for byte; PNG, GIF and BMP (even named .jpg) are re-encoded as RGB
JPEG; anything else is a BadImageError with the reason. A JPEG is first
decoded with Pillow (libjpeg-turbo, as TensorFlow's decoder, but without
importing TensorFlow): a complete RGB or grayscale decode whose markers
reach the end-of-image marker is accepted; anything else (an error, a
truncated file, CMYK) gets the verdict of TensorFlow's decoders, which also
do every conversion, so a builder of clean MSCOCO JPEGs never imports
TensorFlow. ``ImageCache`` remembers each file's verdict, since an image
has one record per caption in several shards; ``validate_images`` gives
the verdicts of a list of files (a worker process's task).

Hostile input is refused before it costs anything: ``read_image_file``
reads only regular files (a directory, FIFO or device named as an image is
a BadImageError, never opened), and ``check_image_pixels`` reads the
image's size from its header and refuses more than MAX_IMAGE_PIXELS before
any decoding (a 20000 x 20000 JPEG would take gigabytes to decode).
Captioning uses the same two functions.
"""

import io
import os
import re
import stat
import threading
import warnings

from PIL import Image

from im2txt.common import file_io
from im2txt.data import schema

# JPEG quality of images converted from other formats.
CONVERTED_JPEG_QUALITY = 95

# Largest image accepted, in pixels (width x height): 50 megapixels, far
# above MSCOCO's largest (640 x 640) and a phone camera's, and about 150 MB
# decoded.
MAX_IMAGE_PIXELS = 50 * 1000 * 1000


class BadImageError(ValueError):
  """An image cannot be decoded; the message says why."""


def sniff_image_format(data):
  """Returns "jpeg", "png", "gif", "bmp" or None from an image's first bytes."""
  if data[:3] == b"\xff\xd8\xff":
    return "jpeg"
  if data[:8] == b"\x89PNG\r\n\x1a\n":
    return "png"
  if data[:6] in (b"GIF87a", b"GIF89a"):
    return "gif"
  if data[:2] == b"BM":
    return "bmp"
  return None


def read_image_file(path):
  """Reads an image file's bytes, refusing anything but a regular file.

  Args:
    path: A local path or any tf.io.gfile path.

  Returns:
    The file's bytes.

  Raises:
    BadImageError: If the path does not exist, is a directory, a FIFO, a
      socket or a device, or cannot be read; the message says which.
  """
  if file_io.is_local(path):
    try:
      mode = os.stat(path).st_mode
    except FileNotFoundError:
      raise BadImageError("file not found")
    except OSError as e:
      raise BadImageError("cannot read the file (%s)" % e.strerror)
    if stat.S_ISDIR(mode):
      raise BadImageError("a directory, not an image file")
    if not stat.S_ISREG(mode):
      kind = ("a FIFO" if stat.S_ISFIFO(mode) else
              "a socket" if stat.S_ISSOCK(mode) else "a device")
      raise BadImageError("%s, not a regular file" % kind)
    try:
      with open(path, "rb") as f:
        return f.read()
    except OSError as e:
      raise BadImageError("cannot read the file (%s)" % e.strerror)
  tf = schema._tf()  # pylint: disable=protected-access
  try:
    if tf.io.gfile.isdir(path):
      raise BadImageError("a directory, not an image file")
    with tf.gfile.GFile(path, "rb") as f:
      return f.read()
  except tf.errors.NotFoundError:
    raise BadImageError("file not found")
  except tf.errors.OpError as e:
    raise BadImageError("cannot read the file (%s)" % decoder_message(e))


def check_image_pixels(encoded_image, max_pixels=MAX_IMAGE_PIXELS):
  """Refuses an image whose header declares more than max_pixels pixels.

  Only the header is read (no decoding). Data whose size cannot be read
  passes: the decoder then says what is wrong with it.

  Raises:
    BadImageError: If width x height > max_pixels.
  """
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # PIL's DecompressionBombWarning.
    try:
      width, height = Image.open(io.BytesIO(encoded_image)).size
    except Image.DecompressionBombError as e:
      # PIL refuses far larger images itself; its message has the count.
      counts = re.findall(r"\d+", str(e))
      raise BadImageError("%s pixels, more than the limit of %d "
                          "(MAX_IMAGE_PIXELS)"
                          % (counts[0] if counts else "too many", max_pixels))
    except Exception:  # pylint: disable=broad-except
      return  # Not an image PIL can size; the decoder will tell.
  if width * height > max_pixels:
    raise BadImageError("%d x %d = %d pixels, more than the limit of %d "
                        "(MAX_IMAGE_PIXELS)" % (width, height, width * height,
                                                max_pixels))


def decoder_message(error):
  """The decoder's own reason in a TensorFlow error, without the graph
  execution preamble ("Graph execution error:", node names, stacks)."""
  text = getattr(error, "message", None) or str(error)
  lines = [line.strip() for line in text.splitlines()]
  reasons = [line for line in lines if line and not line.startswith(
      ("[[", "Graph execution error", "Detected at node", "File ", "Node:"))]
  return reasons[-1] if reasons else (lines[0] if lines else repr(error))


def jpeg_reaches_end_marker(data):
  """Whether a walk over the JPEG's markers, as libjpeg reads them, finds
  the end-of-image marker within the data.

  TensorFlow's decoder fails when libjpeg must read past the data to find
  the end of the image (a corrupt segment length, a lost end marker);
  Pillow stops once it has its pixels. Segments are skipped by their
  lengths; entropy-coded data runs to the next marker that is not a stuffed
  0xFF00, a restart marker or fill bytes; garbage between segments is
  skipped to the next marker, as libjpeg does.
  """
  end = len(data)
  pos = 2  # After the start-of-image marker.
  while True:
    pos = data.find(b"\xff", pos)
    while 0 <= pos < end - 1 and data[pos + 1] in (0x00, 0xff):
      pos = data.find(b"\xff", pos + 1)
    if pos < 0 or pos >= end - 1:
      return False
    marker = data[pos + 1]
    if marker == 0xd9:
      return True
    if 0xd0 <= marker <= 0xd7 or marker == 0x01:  # Restart, TEM: no length.
      pos += 2
      continue
    if pos + 4 > end:
      return False
    length = (data[pos + 2] << 8) | data[pos + 3]
    if length < 2:
      return False
    pos += 2 + length
    if pos > end:
      return False


def pillow_decodes_jpeg(encoded_image):
  """Whether Pillow decodes these JPEG bytes completely to RGB or grayscale,
  and their markers reach the end-of-image marker (jpeg_reaches_end_marker).

  Pillow releases Python's lock while it decodes, so threads decode in
  parallel. False is no verdict: TensorFlow's decoder decides then.
  """
  if not jpeg_reaches_end_marker(encoded_image):
    return False
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      with Image.open(io.BytesIO(encoded_image)) as image:
        if image.format != "JPEG" or image.mode not in ("RGB", "L"):
          return False
        image.load()  # A truncated file raises here.
    return True
  except Exception:  # pylint: disable=broad-except
    return False


class ImageDecoder(object):
  """Validates images; one instance per thread.

  Clean JPEGs are checked with Pillow (pillow_decodes_jpeg); the rest with
  TensorFlow's decoders, in a small graph and single-threaded session of
  this instance made at the first such image (so that threads decode in
  parallel and the builder works whatever the process's eager or graph
  mode, and a builder that never needs it never imports TensorFlow).
  """

  def __init__(self):
    self._sess = None
    self._graph = self._encoded = self._jpeg_shape = None
    self._reencoded = self._errors = None

  def _session(self):
    """The TensorFlow graph and session, made on first use."""
    if self._sess is not None:
      return self._sess
    tf = schema._tf()  # pylint: disable=protected-access
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._encoded = tf.placeholder(dtype=tf.string, shape=[])
      self._jpeg_shape = tf.shape(
          tf.image.decode_jpeg(self._encoded, channels=3))
      # Any format TF reads -> RGB JPEG.
      decoded = tf.image.decode_image(self._encoded, channels=3,
                                      expand_animations=False)
      self._reencoded = tf.image.encode_jpeg(
          decoded, format="rgb", quality=CONVERTED_JPEG_QUALITY)
    config = tf.ConfigProto(intra_op_parallelism_threads=1,
                            inter_op_parallelism_threads=1)
    self._sess = tf.Session(graph=self._graph, config=config)
    self._errors = tf.errors.OpError
    return self._sess

  def prepare(self, encoded_image):
    """Returns the bytes to store for an image and whether it was converted.

    Args:
      encoded_image: The image file's bytes.

    Returns:
      (jpeg_bytes, converted): the original bytes if they are a JPEG that
      TensorFlow decodes, else an RGB JPEG re-encoding and converted=True.

    Raises:
      BadImageError: If the image cannot be decoded.
    """
    fmt = sniff_image_format(encoded_image)
    if fmt is None:
      raise BadImageError("not a JPEG, PNG, GIF or BMP image")
    check_image_pixels(encoded_image)
    if fmt == "jpeg" and pillow_decodes_jpeg(encoded_image):
      return encoded_image, False
    sess = self._session()
    try:
      if fmt == "jpeg":
        shape = sess.run(self._jpeg_shape,
                         feed_dict={self._encoded: encoded_image})
        if shape[2] != 3:
          raise BadImageError("decoded to %d channels, expected 3" % shape[2])
        return encoded_image, False
      converted = sess.run(self._reencoded,
                           feed_dict={self._encoded: encoded_image})
      return converted, True
    except self._errors as e:
      raise BadImageError("invalid %s data (%s)"
                          % (fmt.upper(), decoder_message(e)))

  def close(self):
    if self._sess is not None:
      self._sess.close()
      self._sess = None


class ImageCache(object):
  """Remembers each image's verdict, so that an image is decoded only once.

  An image has one record per caption, and its records land in different
  shards and threads. Valid JPEGs are re-read from disk (only the verdict is
  kept); converted images keep their converted bytes; bad images keep the
  reason.
  """

  def __init__(self):
    self._lock = threading.Lock()
    self._entries = {}

  def entries(self, filenames=None):
    """The verdicts (of `filenames`, default all) as a picklable dict."""
    with self._lock:
      if filenames is None:
        return dict(self._entries)
      return {f: self._entries[f] for f in filenames if f in self._entries}

  def update(self, entries):
    """Adds verdicts made elsewhere (another process's entries())."""
    with self._lock:
      self._entries.update(entries)

  def load(self, filename, decoder):
    """Returns (image_bytes, converted) or raises BadImageError."""
    with self._lock:
      entry = self._entries.get(filename)
    if entry is not None:
      kind, value = entry
      if kind == "bad":
        raise BadImageError(value)
      if kind == "converted":
        return value, True
    try:
      encoded_image = read_image_file(filename)
    except BadImageError as e:
      with self._lock:
        self._entries[filename] = ("bad", str(e))
      raise
    if entry is not None:  # A known-good JPEG.
      return encoded_image, False
    try:
      image_bytes, converted = decoder.prepare(encoded_image)
    except BadImageError as e:
      with self._lock:
        self._entries[filename] = ("bad", str(e))
      raise
    with self._lock:
      self._entries[filename] = ("converted", image_bytes) if converted else (
          "ok", None)
    return image_bytes, converted


def validate_images(filenames):
  """The verdicts of these image files, each decoded once (worker process).

  Returns:
    ImageCache.entries() for the files: valid JPEG, converted bytes, or the
    reason it cannot be used. Nothing is logged here; the shard writers
    report each skipped record as the threads do.
  """
  decoder = ImageDecoder()
  cache = ImageCache()
  try:
    for filename in filenames:
      try:
        cache.load(filename, decoder)
      except BadImageError:
        pass
  finally:
    decoder.close()
  return cache.entries()
