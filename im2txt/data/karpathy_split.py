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
"""The Karpathy split of MSCOCO, read from a dataset_coco.json file.

Most captioning papers since 2015 report on the split of Karpathy and
Fei-Fei's "Deep Visual-Semantic Alignments": 5,000 val2014 images for
validation, 5,000 for test, the rest of val2014 ("restval") and all of
train2014 for training. It is distributed as ``dataset_coco.json``:

  {"images": [{"cocoid": 391895, "split": "test", "filepath": "val2014",
               "filename": "COCO_val2014_000000391895.jpg",
               "sentences": [...], ...}, ...], "dataset": "coco"}

Only ``cocoid`` and ``split`` decide anything here; the captions still come
from the MSCOCO captions files, the same as for the original's split.
``load_split_file`` reads and checks the file; ``assign`` puts the
builder's images into train (train + restval), val and test.
"""

import collections
import json

from im2txt.common import file_io

# Split names of dataset_coco.json, and the builder split each goes to.
SPLITS = collections.OrderedDict([
    ("train", "train"), ("restval", "train"), ("val", "val"),
    ("test", "test")])


class SplitFileError(ValueError):
  """The split file is missing, malformed, or assigns an image twice."""


def load_split_file(split_file):
  """Reads a dataset_coco.json file.

  Returns:
    (dict cocoid -> split name (a key of SPLITS), dict cocoid -> file name
    or None, number of repeated identical entries).

  Raises:
    SplitFileError: Naming the file and the entry, if the file cannot be
      read or parsed, an entry lacks an integer cocoid or has an unknown
      split name, or an image is given two different splits.
  """
  try:
    data = json.loads(file_io.read_text(split_file))
  except (OSError, ValueError) as e:
    raise SplitFileError("Cannot read split file %s: %s" % (split_file, e))
  images = data.get("images") if isinstance(data, dict) else None
  if not isinstance(images, list):
    raise SplitFileError(
        "%s is not a dataset_coco.json split file: it needs a list "
        "\"images\" of {\"cocoid\", \"split\", ...}." % split_file)
  split_of, filename_of = {}, {}
  repeated = 0
  for i, entry in enumerate(images):
    cocoid = entry.get("cocoid") if isinstance(entry, dict) else None
    if not isinstance(cocoid, int) or isinstance(cocoid, bool):
      raise SplitFileError("%s: images[%d] has no integer \"cocoid\": %.200r"
                           % (split_file, i, entry))
    split = entry.get("split")
    if split not in SPLITS:
      raise SplitFileError(
          "%s: images[%d] (cocoid %d) has the unknown split %r; expected one "
          "of %s." % (split_file, i, cocoid, split, ", ".join(SPLITS)))
    if cocoid in split_of:
      if split_of[cocoid] != split:
        raise SplitFileError(
            "%s: image %d is in two splits, %r and %r (images[%d]); an image "
            "must be in one split only, or test images would be trained on."
            % (split_file, cocoid, split_of[cocoid], split, i))
      repeated += 1
      continue
    split_of[cocoid] = split
    filename_of[cocoid] = entry.get("filename")
  return split_of, filename_of, repeated


def assign(images, split_of, filename_of, report):
  """Puts images into the builder's splits as the split file says.

  Args:
    images: ImageMetadata of both captions files (train2014 then val2014),
      in the builder's order (kept within each split).
    split_of, filename_of: From load_split_file.
    report: Dict of lists; images the split file does not name go to
      "not_in_split_file", images it names that no captions file provides
      (or that were left out: no usable caption, unsafe file name) go to
      "split_images_not_found".

  Returns:
    (train, val, test) lists of ImageMetadata.
  """
  parts = {"train": [], "val": [], "test": []}
  found = set()
  for image in images:
    split = split_of.get(image.image_id)
    if split is None:
      report["not_in_split_file"].append(
          {"image_id": image.image_id, "file": image.filename})
      continue
    found.add(image.image_id)
    parts[SPLITS[split]].append(image)
  for cocoid in sorted(set(split_of) - found):
    report["split_images_not_found"].append(
        {"cocoid": cocoid, "split": split_of[cocoid],
         "filename": filename_of.get(cocoid)})
  return parts["train"], parts["val"], parts["test"]
