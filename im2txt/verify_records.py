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
r"""Checks every record of a data set: CRCs and parsing, file by file.

  verify_records --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256"
  verify_records --input_file_pattern="${MSCOCO_DIR}/features/features-*" \
    --kind=features

Training reads records in a random order and stops at the first corrupt
one, days into a run, and again at every restart. This reads each file
once, in order, checks every record's checksums and that it parses as a
caption record (--kind=captions, the builder's output) or a cached-feature
record (--kind=features, cache_features' output; descriptions and temporary
files are not shards), and prints a line per file:

  ok   train-00000-of-00256: 2291 records
  BAD  train-00017-of-00256: record 803, byte offset 17338812: not a
       TFRecord file, or corrupted (corrupted record at 17338824)

then a summary. A bad file is read up to its first bad record (past a
corrupt length the framing is lost). A file that reads cleanly but holds
fewer or more records than were written is bad too: the builder records
each shard's count (.build_mscoco_data/<shard>.json beside the shards) and
cache_features each shard's images (<shard>.json); a file with neither is
said to be unchecked. The exit status is 1 if any file is bad or the
pattern matches nothing.
"""

import json
import os
import sys

from absl import flags

from im2txt.common import cli
from im2txt.common import file_io
from im2txt.data import feature_records
from im2txt.data import records
from im2txt.data import schema
from im2txt.data import shard_writer
from im2txt.ops import feature_inputs
from im2txt.ops import inputs as input_ops

FLAGS = flags.FLAGS

KINDS = {
    "captions": schema.parse_sequence_example_proto,
    "features": feature_records.parse_example_proto,
    "any": None,  # CRCs only.
}


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  cli.define_shared_flag(
      "input_file_pattern",
      "Comma-separated TFRecord file patterns. Required.",
      __name__)
  flags.DEFINE_enum("kind", "captions", sorted(KINDS),
                    "What the records must parse as: caption records (the "
                    "builder's), cached-feature records, or any (checksums "
                    "only).")
  flags.register_validator("input_file_pattern", bool,
                           message="--input_file_pattern is required.")


def written_count(path, kind="captions"):
  """(records written to `path`, the file that says so), or (None, None).

  Caption shards: the builder's state file; feature shards: the
  description cache_features wrote beside them (one record per image).
  """
  candidates = []
  if kind != "features":
    candidates.append((file_io.join(
        file_io.dirname(path), shard_writer.STATE_DIRNAME,
        os.path.basename(path) + ".json"), "written"))
  if kind != "captions":
    candidates.append((feature_records.sidecar_path(path), "num_images"))
  for record_file, key in candidates:
    if not file_io.exists(record_file):
      continue
    try:
      count = json.loads(file_io.read_text(record_file)).get(key)
    except (OSError, ValueError, AttributeError):
      continue
    if isinstance(count, int):
      return count, record_file
  return None, None


def verify(files, kind="captions", out=sys.stdout):
  """Verifies files, printing a line each; returns the list of bad ones.

  Args:
    files: Paths of TFRecord files.
    kind: A key of KINDS.
    out: Where the lines go.

  Returns:
    [(path, problem)] of the bad files: a records.RecordReadError, or a
    str when the file reads cleanly but its count is not the one written.
  """
  bad = []
  total = 0
  unchecked = 0
  for path in files:
    count, error = records.verify_file(path, KINDS[kind])
    total += count
    written, record_file = written_count(path, kind)
    if error is not None:
      bad.append((path, error))
      print("BAD  %s: %d good records, then %s" % (
          path, count, str(error)[len(path) + 1:].strip()), file=out,
            flush=True)
    elif written is not None and count != written:
      problem = ("%d records, but %d were written (%s): records are "
                 "missing or were added" % (count, written, record_file))
      bad.append((path, problem))
      print("BAD  %s: %s" % (path, problem), file=out, flush=True)
    elif written is None:
      unchecked += 1
      print("ok   %s: %d records (how many were written is not recorded)"
            % (path, count), file=out, flush=True)
    else:
      print("ok   %s: %d records, as written" % (path, count), file=out,
            flush=True)
  print("%d files, %d records read; %d bad files%s" % (
      len(files), total, len(bad),
      (": " + ", ".join(os.path.basename(p) for p, _ in bad)) if bad else ""),
        file=out)
  if unchecked:
    print("%d files have no record of how many records were written (no "
          "build state or feature description beside them): their counts "
          "are unchecked." % unchecked, file=out)
  return bad


def main(unused_argv):
  try:
    if FLAGS.kind == "features":
      files = feature_inputs.match_feature_files(FLAGS.input_file_pattern)
    else:
      files = input_ops.match_input_files(FLAGS.input_file_pattern)
  except input_ops.NoInputFilesError as e:
    sys.exit("verify_records: error: %s" % e)
  if verify(sorted(files), FLAGS.kind):
    sys.exit(1)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
