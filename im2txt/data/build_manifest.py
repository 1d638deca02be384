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
"""The builder's manifest: what a build's output was made from.

Before writing anything, build_mscoco_data records in
``<output_dir>/.build_mscoco_data/manifest.json`` the captions files'
SHA-256, the image directories and every setting that changes the output
(shards, words, the tokenizer, the input format, a base vocabulary). A
rerun into the same output_dir keeps complete shards only if its manifest
is the same (check_manifest), and names what changed otherwise. Readers of
the records find it beside them (recorded_manifest): train takes the
tokenizer from it, and the base vocabulary a grown vocabulary extends.
"""

import hashlib
import json
import os

from im2txt.common import file_io
from im2txt.data import shard_writer
from im2txt.data import tokenizers
from im2txt.data.captions_metadata import log

MANIFEST_FILENAME = "manifest.json"  # In shard_writer.STATE_DIRNAME.
# The manifest's layout; a change of the output format bumps it.
MANIFEST_VERSION = 1
# Settings added to the manifest since version 1, at the value every
# earlier build had.
MANIFEST_DEFAULTS = dict(tokenizers.Tokenizer().description(),
                         input_format="mscoco")


class InputsChangedError(ValueError):
  """output_dir holds shards of other inputs or settings than this run's."""


def sha256(path):
  digest = hashlib.sha256()
  digest.update(file_io.read_bytes(path))
  return digest.hexdigest()


def make_manifest(train_captions_file, val_captions_file, train_image_dir,
                  val_image_dir, word_counts_output_file, settings):
  """The inputs and settings that decide the output, as a dict."""
  manifest = {
      "manifest_version": MANIFEST_VERSION,
      "train_captions_file": os.path.abspath(train_captions_file),
      "train_captions_sha256": sha256(train_captions_file),
      "val_captions_file": os.path.abspath(val_captions_file),
      "val_captions_sha256": sha256(val_captions_file),
      "train_image_dir": os.path.abspath(train_image_dir),
      "val_image_dir": os.path.abspath(val_image_dir),
      "word_counts_output_file": os.path.abspath(word_counts_output_file),
  }
  manifest.update(settings)
  return manifest


def check_manifest(output_dir, manifest):
  """Records the manifest of a new output_dir, or checks a rerun's.

  Raises:
    InputsChangedError: If output_dir holds shards of other inputs or
      settings (named in the message, with how to start over), or shards
      without a manifest.
  """
  state_dir = file_io.join(output_dir, shard_writer.STATE_DIRNAME)
  path = file_io.join(state_dir, MANIFEST_FILENAME)
  start_over = (
      "To start over, delete %s (the shards, %s and word_counts.txt) or "
      "give a new --output_dir." % (output_dir, shard_writer.STATE_DIRNAME))
  if file_io.exists(path):
    saved = json.loads(file_io.read_text(path))
    # Manifests of older versions lack the settings added since, which
    # then had their default value.
    for key, value in MANIFEST_DEFAULTS.items():
      saved.setdefault(key, value)
    changed = ["%s: was %r, now %r" % (k, saved.get(k), manifest.get(k))
               for k in sorted(set(saved) | set(manifest))
               if saved.get(k) != manifest.get(k)]
    if changed:
      raise InputsChangedError(
          "%s holds shards built from other inputs or settings (%s). Its "
          "complete shards would be kept and disagree with a new "
          "vocabulary. %s" % (output_dir, "; ".join(changed), start_over))
    log("Rerun with the same inputs: complete shards in %s are kept."
        % output_dir)
    return
  if file_io.glob(file_io.join(state_dir, "*.json")):
    raise InputsChangedError(
        "%s holds shards whose inputs were not recorded (no %s), so they "
        "cannot be checked against this run. %s"
        % (output_dir, path, start_over))
  file_io.makedirs(state_dir)
  file_io.write_atomically(path, json.dumps(manifest, indent=2,
                                            sort_keys=True))


def recorded_manifest(records_file):
  """(manifest, its path) of the build that wrote the records in
  `records_file`'s folder, or None (records of another writer)."""
  path = file_io.join(file_io.dirname(records_file),
                      shard_writer.STATE_DIRNAME, MANIFEST_FILENAME)
  if not file_io.exists(path):
    return None
  return json.loads(file_io.read_text(path)), path


def recorded_tokenizer(records_file):
  """The tokenizers.Tokenizer recorded_manifest records, or None."""
  recorded = recorded_manifest(records_file)
  return recorded and tokenizers.from_description(*recorded)


def remove_leftovers(output_dir):
  """Deletes the temporary files of killed runs; returns how many."""
  state_dir = file_io.join(output_dir, shard_writer.STATE_DIRNAME)
  leftovers = (file_io.glob(file_io.join(output_dir, "*.tmp-*")) +
               file_io.glob(file_io.join(state_dir, "*.tmp-*")))
  for path in leftovers:
    file_io.remove(path)
  if leftovers:
    log("Removed %d temporary files left by an interrupted run: %s"
        % (len(leftovers), ", ".join(leftovers[:5])))
  return len(leftovers)
