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
"""Captions files of other data sets than MSCOCO: what the builder reads
with --input_format karpathy, jsonl or csv.

* ``karpathy``: Karpathy's ``dataset_flickr8k.json``, ``dataset_flickr30k.json``
  or ``dataset_coco.json`` on its own:

    {"images": [{"filename": "1000268201_693b08cb0e.jpg", "split": "train",
                 "sentences": [{"raw": "A child in a pink dress ..."}, ...],
                 "filepath": "val2014" (dataset_coco.json only), ...}, ...]}

  The image file is ``filepath/filename`` under --image_dir when filepath is
  there, else ``filename``; split ``restval`` goes to train.
* ``jsonl``: one JSON object per line, ``{"image": "dogs/1.jpg", "caption":
  "...", "split": "train"}``; ``split`` (train, val or test) is optional, and
  an image is on as many lines as it has captions. Blank lines are skipped.
* ``csv``: the same three columns, named in a header row (UTF-8, a byte
  order mark is allowed); other columns are ignored.

``load`` turns any of them into the MSCOCO form the builder already
checks and tokenizes (``{"images": [{"id", "file_name"}], "annotations":
[{"image_id", "caption"}]}``), with image ids given in order of first
appearance (1, 2, ...), and the split each image was given (None: none).
``divide`` puts the images without a split into train, val and test as the
builder divides MSCOCO's val2014: in a fixed order (seeded shuffle), by
fractions. A file that is not of its format, an entry without an image or
caption, an unknown split name or an image given two splits is a
CaptionsFileError naming the file, the line or entry, and the problem.
"""

import collections
import csv
import io
import json
import random

from im2txt.data import captions_metadata
from im2txt.data.captions_metadata import CaptionsFileError

INPUT_FORMATS = ("mscoco", "karpathy", "jsonl", "csv")
# Split names of the files, and the builder's split each goes to.
SPLIT_NAMES = collections.OrderedDict([
    ("train", "train"), ("restval", "train"), ("val", "val"),
    ("test", "test")])
# Seed of the order in which images without a split are divided.
DIVIDE_SEED = 12345

Loaded = collections.namedtuple("Loaded", ["data", "split_of"])


class _Collector(object):
  """Images in order of first appearance, their captions and splits."""

  def __init__(self, captions_file):
    self._file = captions_file
    self.id_of = collections.OrderedDict()
    self.split_of = {}
    self.annotations = []

  def add(self, file_name, captions, split, where):
    """Records an image's captions; `where` names the entry in errors."""
    if not isinstance(file_name, str) or not file_name.strip():
      raise CaptionsFileError("%s: %s has no image file name (got %.100r)"
                              % (self._file, where, file_name))
    if split is not None:
      if split not in SPLIT_NAMES:
        raise CaptionsFileError(
            "%s: %s has the unknown split %r; the split names are %s." % (
                self._file, where, split, ", ".join(SPLIT_NAMES)))
      split = SPLIT_NAMES[split]
    image_id = self.id_of.get(file_name)
    if image_id is None:
      image_id = self.id_of[file_name] = len(self.id_of) + 1
      self.split_of[image_id] = split
    elif self.split_of[image_id] != split:
      raise CaptionsFileError(
          "%s: %s puts %s in split %s, an earlier entry in %s: an image "
          "must be in one split only (else the test images would be "
          "trained on)." % (self._file, where, file_name, split or "(none)",
                            self.split_of[image_id] or "(none)"))
    for caption in captions:
      if not isinstance(caption, str):
        raise CaptionsFileError("%s: %s has a caption that is not text "
                                "(got %.100r)" % (self._file, where, caption))
      self.annotations.append({"image_id": image_id, "caption": caption})

  def loaded(self):
    images = [{"id": i, "file_name": f} for f, i in self.id_of.items()]
    return Loaded({"images": images, "annotations": self.annotations},
                  dict(self.split_of))


def _karpathy(captions_file, text):
  expected = ("a Karpathy split file (dataset_flickr8k.json, "
              "dataset_flickr30k.json or dataset_coco.json: {\"images\": "
              "[{\"filename\", \"split\", \"sentences\": [{\"raw\"}]}]})")
  try:
    data = json.loads(text)
  except ValueError as e:
    raise CaptionsFileError("%s: not valid JSON (%s); --input_format=karpathy "
                            "reads %s" % (captions_file, e, expected))
  if not isinstance(data, dict) or not isinstance(data.get("images"), list):
    raise CaptionsFileError("%s: not %s" % (captions_file, expected))
  collector = _Collector(captions_file)
  for i, entry in enumerate(data["images"]):
    where = "images[%d]" % i
    if (not isinstance(entry, dict) or
        not isinstance(entry.get("sentences"), list) or
        "split" not in entry):
      raise CaptionsFileError("%s: %s needs \"filename\", \"split\" and "
                              "\"sentences\", got %.200r"
                              % (captions_file, where, entry))
    file_name = entry.get("filename")
    if isinstance(entry.get("filepath"), str) and isinstance(file_name, str):
      file_name = entry["filepath"].rstrip("/") + "/" + file_name
    captions = []
    for sentence in entry["sentences"]:
      if not isinstance(sentence, dict) or "raw" not in sentence:
        raise CaptionsFileError("%s: %s has a sentence without \"raw\": "
                                "%.200r" % (captions_file, where, sentence))
      captions.append(sentence["raw"])
    collector.add(file_name, captions, entry["split"], where)
  return collector.loaded()


def _rows(captions_file, text, input_format):
  """(line number, dict) of a jsonl or csv file."""
  if input_format == "jsonl":
    for number, line in enumerate(text.splitlines(), start=1):
      if not line.strip():
        continue
      try:
        row = json.loads(line)
      except ValueError as e:
        raise CaptionsFileError(
            "%s: line %d is not valid JSON (%s); --input_format=jsonl reads "
            "one object per line: {\"image\": ..., \"caption\": ..., "
            "\"split\": ...}" % (captions_file, number, e))
      if not isinstance(row, dict):
        raise CaptionsFileError(
            "%s: line %d is a JSON %s, not an object {\"image\": ..., "
            "\"caption\": ...}" % (captions_file, number, type(row).__name__))
      yield number, row
    return
  reader = csv.DictReader(io.StringIO(text, newline=""))
  columns = reader.fieldnames or []
  missing = [c for c in ("image", "caption") if c not in columns]
  if missing:
    raise CaptionsFileError(
        "%s: the header row has no column %s (it names %s); "
        "--input_format=csv needs columns image, caption and optionally "
        "split." % (captions_file, " or ".join(repr(c) for c in missing),
                    ", ".join(repr(c) for c in columns) or "nothing"))
  try:
    for row in reader:
      if None in row:
        raise CaptionsFileError("%s: line %d has more fields than the "
                                "header row" % (captions_file,
                                                reader.line_num))
      yield reader.line_num, row
  except csv.Error as e:
    raise CaptionsFileError("%s: line %d: %s" % (captions_file,
                                                 reader.line_num, e))


def _lines(captions_file, text, input_format):
  collector = _Collector(captions_file)
  for number, row in _rows(captions_file, text, input_format):
    where = "line %d" % number
    for key in ("image", "caption"):
      if row.get(key) is None:
        raise CaptionsFileError("%s: %s has no %r" % (captions_file, where,
                                                      key))
    split = row.get("split")
    if isinstance(split, str) and not split.strip():
      split = None  # An empty csv cell: no split.
    collector.add(row["image"], [row["caption"]], split, where)
  return collector.loaded()


def load(input_format, captions_file):
  """Reads a captions file of `input_format` (not "mscoco").

  Returns:
    Loaded(data in the MSCOCO form, dict image id -> "train", "val",
    "test" or None).

  Raises:
    CaptionsFileError: See the module docstring.
  """
  if input_format not in INPUT_FORMATS[1:]:
    raise ValueError("input_format must be one of %s, got %r"
                     % (INPUT_FORMATS[1:], input_format))
  text = captions_metadata.read_text(captions_file)
  if input_format == "karpathy":
    return _karpathy(captions_file, text)
  return _lines(captions_file, text, input_format)


def check_fractions(val_fraction, test_fraction):
  """Raises ValueError unless both fractions fit in [0, 1) together."""
  if (val_fraction < 0 or test_fraction < 0 or
      val_fraction + test_fraction >= 1):
    raise ValueError(
        "--val_fraction %g and --test_fraction %g must be at least 0 and "
        "leave some images for training (their sum below 1)."
        % (val_fraction, test_fraction))


def divide(dataset, split_of, val_fraction=0.05, test_fraction=0.10):
  """Puts a processed dataset's images into train, val and test.

  Args:
    dataset: ImageMetadata list (captions_metadata.process_metadata).
    split_of: Dict image id -> split or None, from load.
    val_fraction, test_fraction: The shares of val and test among the
      images without a split (the rest trains), as the builder's 5% and
      10% of MSCOCO's val2014.

  Returns:
    (train, val, test) lists; images with a split keep the file's order,
    then come the divided ones in their seeded order.
  """
  check_fractions(val_fraction, test_fraction)
  splits = {"train": [], "val": [], "test": []}
  unsplit = []
  for image in dataset:
    split = split_of.get(image.image_id)
    if split is None:
      unsplit.append(image)
    else:
      splits[split].append(image)
  random.Random(DIVIDE_SEED).shuffle(unsplit)
  # Rounded first, so that 1 - 0.05 - 0.10 cuts where 0.85 does.
  train_cutoff = int(round((1 - val_fraction - test_fraction) * len(unsplit),
                           6))
  val_cutoff = int(round((1 - test_fraction) * len(unsplit), 6))
  splits["train"].extend(unsplit[:train_cutoff])
  splits["val"].extend(unsplit[train_cutoff:val_cutoff])
  splits["test"].extend(unsplit[val_cutoff:])
  return splits["train"], splits["val"], splits["test"]
