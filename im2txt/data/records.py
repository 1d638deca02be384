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
"""Reading TFRecord files in Python, outside the training graph.

The one loop over records that the tools share (caption metrics, pre-flight
checks, feature caching, batch captioning). A file that cannot be opened,
a record that fails its checksum and a record that does not parse all end
in a RecordReadError that names the file and the record's index, instead
of TensorFlow's ``DataLossError: corrupted record at N`` without a file.
"""

import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import schema


# Bytes around each record's payload in a TFRecord file: its length
# (uint64), the length's CRC and the payload's CRC (uint32 each).
RECORD_OVERHEAD = 16


class RecordReadError(ValueError):
  """A record file cannot be read; the message names the file and record."""

  def __init__(self, path, index, reason, offset=None):
    where = path
    if index is not None:
      where = "%s (record %d%s)" % (
          path, index, ", byte offset %d" % offset if offset is not None
          else "")
    super().__init__("%s: %s" % (where, reason))
    self.path = path
    self.index = index
    self.offset = offset
    self.reason = reason


def read_records(path):
  """Yields the serialized records of one TFRecord file, in order.

  Args:
    path: A TFRecord file (local or any tf.io.gfile scheme).

  Yields:
    bytes, one serialized record at a time.

  Raises:
    RecordReadError: If the file cannot be opened or a record is corrupt.
  """
  index = offset = 0
  try:
    for serialized in tf.io.tf_record_iterator(path):
      yield serialized
      index += 1
      offset += len(serialized) + RECORD_OVERHEAD
  except tf.errors.OpError as e:
    first_line = (e.message or str(e)).splitlines()[0] if (
        e.message or str(e)) else type(e).__name__
    if index == 0 and isinstance(e, tf.errors.NotFoundError):
      raise RecordReadError(path, None, "file not found (%s)" % first_line)
    raise RecordReadError(path, index, "not a TFRecord file, or corrupted "
                          "(%s)" % first_line, offset)


def read_parsed(path, parse_fn):
  """Yields parse_fn(record) for each record of a file.

  Raises:
    RecordReadError: If a record is corrupt or parse_fn raises ValueError
      (or a protobuf DecodeError) on it; the message names the record.
  """
  offset = 0
  for index, serialized in enumerate(read_records(path)):
    try:
      yield parse_fn(serialized)
    except Exception as e:  # pylint: disable=broad-except
      # protobuf raises its own DecodeError (not a ValueError subclass in
      # every implementation); anything a parser raises on bytes it cannot
      # understand is a bad record, named here.
      raise RecordReadError(path, index, "not a record of the expected kind "
                            "(%s)" % e, offset) from e
    offset += len(serialized) + RECORD_OVERHEAD


def verify_file(path, parse_fn=None):
  """Reads every record of a file, checking its CRCs (and parse_fn).

  Args:
    path: A TFRecord file.
    parse_fn: Optional function(bytes) that raises on a record of the wrong
      kind (e.g. schema.parse_sequence_example_proto).

  Returns:
    (number of good records, None) if the whole file is good, else
    (good records before the first bad one, the RecordReadError). A
    corrupt length loses the framing, so reading stops at the first bad
    record.
  """
  count = 0
  try:
    if parse_fn is None:
      for _ in read_records(path):
        count += 1
    else:
      for _ in read_parsed(path, parse_fn):
        count += 1
  except RecordReadError as e:
    return count, e
  return count, None


def find_first_corrupt(paths):
  """The RecordReadError of the first bad record among files, or None."""
  for path in paths:
    _, error = verify_file(path)
    if error is not None:
      return error
  return None


def read_sequence_examples(path):
  """Yields the caption records of one file as schema dicts.

  Each is schema.parse_sequence_example_proto's dict: "image_id", "image",
  "caption", "caption_ids".

  Raises:
    RecordReadError: As read_parsed.
  """
  return read_parsed(path, schema.parse_sequence_example_proto)


def distinct_images(paths):
  """Yields (image_id, encoded image, path) once per image of the files.

  A split holds one record per caption, so an image appears in several
  records (and usually several files); its first record is the one used.

  Raises:
    RecordReadError: As read_parsed.
  """
  seen = set()
  for path in paths:
    for record in read_sequence_examples(path):
      if record["image_id"] not in seen:
        seen.add(record["image_id"])
        yield record["image_id"], record["image"], path
