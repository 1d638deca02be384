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


class RecordReadError(ValueError):
  """A record file cannot be read; the message names the file and record."""

  def __init__(self, path, index, reason):
    where = "%s (record %d)" % (path, index) if index is not None else path
    super().__init__("%s: %s" % (where, reason))
    self.path = path
    self.index = index
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
  index = 0
  try:
    for serialized in tf.io.tf_record_iterator(path):
      yield serialized
      index += 1
  except tf.errors.OpError as e:
    first_line = (e.message or str(e)).splitlines()[0] if (
        e.message or str(e)) else type(e).__name__
    if index == 0 and isinstance(e, tf.errors.NotFoundError):
      raise RecordReadError(path, None, "file not found (%s)" % first_line)
    raise RecordReadError(path, index, "not a TFRecord file, or corrupted "
                          "(%s)" % first_line)


def read_parsed(path, parse_fn):
  """Yields parse_fn(record) for each record of a file.

  Raises:
    RecordReadError: If a record is corrupt or parse_fn raises ValueError
      (or a protobuf DecodeError) on it; the message names the record.
  """
  for index, serialized in enumerate(read_records(path)):
    try:
      yield parse_fn(serialized)
    except Exception as e:  # pylint: disable=broad-except
      # protobuf raises its own DecodeError (not a ValueError subclass in
      # every implementation); anything a parser raises on bytes it cannot
      # understand is a bad record, named here.
      raise RecordReadError(path, index, "not a record of the expected kind "
                            "(%s)" % e) from e


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
