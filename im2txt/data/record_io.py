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
"""The builder's records without TensorFlow: serialization and TFRecord files.

Importing TensorFlow costs a few CPU-seconds and about half a gigabyte per
process, which on the demo data or a few thousand images is most of the
builder's work (and once per worker process). The builder's records are
simple, so this module writes them itself:

  * ``serialize_sequence_example`` encodes one image-caption record
    (schema.make_sequence_example) in protocol-buffer wire format, the
    bytes of ``SerializeToString(deterministic=True)``, which the tests
    check against the protobuf library.
  * ``RecordWriter`` frames records as TFRecord files (length, masked
    CRC-32C of the length, data, masked CRC-32C of the data) with the
    google-crc32c package. Paths with a scheme (gs://...), or a Python
    without google-crc32c, use tf.io.TFRecordWriter instead: same bytes.
"""

import functools
import struct

from im2txt.common import file_io
from im2txt.data import schema

try:
  import google_crc32c  # pylint: disable=g-import-not-at-top
except ImportError:  # pragma: no cover - a requirement; TF writes then.
  google_crc32c = None

_MASK_DELTA = 0xa282ead8


def _varint(value):
  """Protocol-buffer varint of an int64 (negative: 10 bytes, two's
  complement, as the protobuf library writes them)."""
  value &= 0xffffffffffffffff
  out = bytearray()
  while value > 0x7f:
    out.append((value & 0x7f) | 0x80)
    value >>= 7
  out.append(value)
  return bytes(out)


def _field(number, payload):
  """A length-delimited field (wire type 2)."""
  return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int64_feature(values):
  """Feature{int64_list: Int64List{value: values}} (packed)."""
  packed = b"".join(_varint(int(v)) for v in values)
  return _field(3, _field(1, packed))


def _bytes_feature(values):
  """Feature{bytes_list: BytesList{value: values}}."""
  return _field(1, b"".join(_field(1, v) for v in values))


def _map_entry(key, value):
  """One entry of a map<string, message> field (key 1, value 2)."""
  return _field(1, _field(1, key.encode("utf-8")) + _field(2, value))


def _key_order(a, b):
  """The protobuf library's deterministic order of map keys: byte order,
  except that a key that is a prefix of another comes after it."""
  a, b = a.encode("utf-8"), b.encode("utf-8")
  common = min(len(a), len(b))
  if a[:common] != b[:common]:
    return -1 if a[:common] < b[:common] else 1
  return len(b) - len(a)


def _map(entries):
  """A map<string, message> field's entries in the deterministic order."""
  keys = sorted(entries, key=functools.cmp_to_key(_key_order))
  return b"".join(_map_entry(k, entries[k]) for k in keys)


def serialize_sequence_example(image_id, encoded_image, tokens, token_ids):
  """The serialized record of one image-caption pair.

  Equal to schema.make_sequence_example(...).SerializeToString(
  deterministic=True): context {image/data, image/image_id}, feature lists
  {image/caption_ids, image/caption}, each map in the library's
  deterministic key order (see _key_order).

  Args:
    image_id: Integer image id.
    encoded_image: The stored image bytes.
    tokens: Caption tokens (str or bytes), start and end words included.
    token_ids: Their vocabulary ids.

  Returns:
    bytes.
  """
  if isinstance(encoded_image, str):
    encoded_image = encoded_image.encode("utf-8")
  context = {
      schema.IMAGE_ID_KEY: _int64_feature([image_id]),
      schema.IMAGE_DATA_KEY: _bytes_feature([encoded_image]),
  }
  words = [t.encode("utf-8") if isinstance(t, str) else bytes(t)
           for t in tokens]
  feature_lists = {
      schema.CAPTION_KEY: b"".join(
          _field(1, _bytes_feature([w])) for w in words),
      schema.CAPTION_IDS_KEY: b"".join(
          _field(1, _int64_feature([i])) for i in token_ids),
  }
  return _field(1, _map(context)) + _field(2, _map(feature_lists))


def masked_crc32c(data):
  """TFRecord's masked CRC-32C of some bytes."""
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xffffffff


def frame_record(data):
  """One record as it appears in a TFRecord file (no compression)."""
  length = struct.pack("<Q", len(data))
  return b"".join((length, struct.pack("<I", masked_crc32c(length)), data,
                   struct.pack("<I", masked_crc32c(data))))


def writes_without_tensorflow(path):
  """Whether RecordWriter(path) writes the file itself (no TensorFlow)."""
  return google_crc32c is not None and file_io.is_local(path)


class RecordWriter(object):
  """Writes a TFRecord file (uncompressed), as tf.io.TFRecordWriter does."""

  def __init__(self, path):
    self._file = None
    self._tf_writer = None
    if writes_without_tensorflow(path):
      self._file = open(path, "wb")
    else:
      tf = schema._tf()  # pylint: disable=protected-access
      self._tf_writer = tf.python_io.TFRecordWriter(path)

  def write(self, data):
    if self._file is not None:
      self._file.write(frame_record(data))
    else:
      self._tf_writer.write(data)

  def close(self):
    if self._file is not None:
      self._file.close()
    else:
      self._tf_writer.close()

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc_info):
    self.close()
