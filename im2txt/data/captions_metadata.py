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
"""MSCOCO captions files: loading, validation, tokenisation and the split.

An MSCOCO captions file is

  {"images": [{"id": int, "file_name": str, ...}, ...],
   "annotations": [{"image_id": int, "caption": str, ...}, ...]}

``load_captions_json`` reads and validates one (a malformed file is a
CaptionsFileError naming the file and the entry; so is an image id given two
different file names); ``process_metadata`` pairs each image with its
tokenized captions, reporting empty captions, captions longer than
MAX_CAPTION_TOKENS, captions of unknown images, images without captions,
repeated identical image entries (merged) and file names that point
outside the image directory (skipped, so that a captions file cannot make
the builder read other files); ``split_val_images`` is the original's
85% / 5% / 10% split of val2014.
"""

import collections
import datetime
import json
import os

import numpy as np

from im2txt.common import file_io
from im2txt.data import schema
from im2txt.data import tokenizers

ImageMetadata = collections.namedtuple("ImageMetadata",
                                       ["image_id", "filename", "captions"])

# Longest caption kept, in tokens with the start and end words. MSCOCO's
# longest captions have about 50 words; a caption of 200,000 tokens is not
# a caption, and would make a record (and a training batch) that size.
MAX_CAPTION_TOKENS = 100


class CaptionsFileError(ValueError):
  """A captions JSON file is missing or not in the MSCOCO format."""


def now():
  """The time, for the builder's progress lines."""
  return datetime.datetime.now()


def log(message):
  """Prints a progress line of the builder (its output, not a log record)."""
  print(message, flush=True)


def read_text(captions_file, encoding="utf-8-sig"):
  """A captions file's text.

  Raises:
    CaptionsFileError: If it is missing, a directory or not UTF-8.
  """
  try:
    return file_io.read_bytes(captions_file).decode(encoding)
  except FileNotFoundError:
    raise CaptionsFileError("%s: captions file not found" % captions_file)
  except IsADirectoryError:
    raise CaptionsFileError("%s: a directory, not a captions file"
                            % captions_file)
  except UnicodeDecodeError as e:
    raise CaptionsFileError("%s: not UTF-8 text (%s)" % (captions_file, e))


def load_captions_json(captions_file):
  """Reads and validates one MSCOCO captions file.

  Returns:
    The parsed JSON object.

  Raises:
    CaptionsFileError: If the file is missing or not in the MSCOCO format.
  """
  try:
    data = json.loads(read_text(captions_file, "utf-8"))
  except ValueError as e:
    raise CaptionsFileError("%s: not valid JSON (%s)" % (captions_file, e))
  if not isinstance(data, dict):
    raise CaptionsFileError("%s: expected a JSON object with 'images' and "
                            "'annotations', got %s"
                            % (captions_file, type(data).__name__))
  for key in ("images", "annotations"):
    if not isinstance(data.get(key), list):
      raise CaptionsFileError("%s: missing list %r" % (captions_file, key))
  for i, image in enumerate(data["images"]):
    if (not isinstance(image, dict) or not isinstance(image.get("id"), int) or
        not isinstance(image.get("file_name"), str)):
      raise CaptionsFileError(
          "%s: images[%d] needs an integer 'id' and a string 'file_name', "
          "got %.200r" % (captions_file, i, image))
  file_names = {}
  conflicts = []
  for image in data["images"]:
    known = file_names.setdefault(image["id"], image["file_name"])
    if known != image["file_name"]:
      conflicts.append("%d (%s, %s)" % (image["id"], known,
                                       image["file_name"]))
  if conflicts:
    raise CaptionsFileError(
        "%s: %d image ids are given to two different files, so their "
        "captions cannot be paired with pixels: %s" % (
            captions_file, len(conflicts), "; ".join(conflicts[:10])))
  for i, annotation in enumerate(data["annotations"]):
    if (not isinstance(annotation, dict) or
        not isinstance(annotation.get("image_id"), int) or
        not isinstance(annotation.get("caption"), str)):
      raise CaptionsFileError(
          "%s: annotations[%d] needs an integer 'image_id' and a string "
          "'caption', got %.200r" % (captions_file, i, annotation))
  return data


def tokenize_captions(captions, start_word, end_word, tokenizer=None):
  """Tokenized captions, in order (run by worker processes too);
  `tokenizer`: a tokenizers.Tokenizer, the original's by default."""
  tokenizer = tokenizer or tokenizers.Tokenizer()
  return [tokenizer.process_caption(c, start_word, end_word)
          for c in captions]


def chunks(items, num_chunks):
  """Splits a list into up to num_chunks contiguous, near-equal lists."""
  bounds = np.linspace(0, len(items), num_chunks + 1).astype(int)
  return [items[bounds[i]:bounds[i + 1]] for i in range(num_chunks)
          if bounds[i] < bounds[i + 1]]


def safe_image_path(image_dir, file_name):
  """image_dir/file_name, or None if the name leads outside image_dir
  (an absolute path, a scheme, or ".." above the directory)."""
  if (os.path.isabs(file_name) or file_name.startswith(("/", "\\")) or
      "://" in file_name or not file_name):
    return None
  parts = os.path.normpath(file_name).replace("\\", "/").split("/")
  if parts[0] == ".." or parts == ["."]:
    return None
  return os.path.join(image_dir, file_name)


def process_metadata(data, captions_file, image_dir,
                     start_word=schema.START_WORD, end_word=schema.END_WORD,
                     report=None, pool=None,
                     max_caption_tokens=MAX_CAPTION_TOKENS, tokenizer=None):
  """Pairs the images of a loaded captions file with tokenized captions.

  Args:
    data: The file's JSON, as load_captions_json returns it.
    captions_file: Its path (named in the report).
    image_dir: Directory containing the image files.
    start_word: Start word of every caption.
    end_word: End word of every caption.
    report: Optional dict of lists; dropped captions, annotations of unknown
      images, images without captions, merged repeated image entries and
      unsafe file names are appended to its lists "dropped_captions",
      "orphan_annotations", "images_without_captions", "duplicate_images"
      and "unsafe_file_names".
    pool: Optional process pool (shard_writer.ProcessPool) that tokenizes
      the captions.
    max_caption_tokens: Captions with more tokens (start and end words
      included) are dropped and reported; 0 keeps every caption.
    tokenizer: A tokenizers.Tokenizer (the original's by default).

  Returns:
    A list of ImageMetadata, in the file's image order, each with its list of
    tokenized captions. Images without any usable caption are left out.
  """
  report = report if report is not None else collections.defaultdict(list)
  id_to_filename = []
  seen = set()
  for image in data["images"]:
    if image["id"] in seen:
      # The same entry again (load_captions_json refused conflicting ones).
      report["duplicate_images"].append(
          {"file": captions_file, "image_id": image["id"],
           "file_name": image["file_name"]})
      continue
    seen.add(image["id"])
    id_to_filename.append((image["id"], image["file_name"]))

  id_to_captions = {}
  known_ids = set(image_id for image_id, _ in id_to_filename)
  for annotation in data["annotations"]:
    image_id = annotation["image_id"]
    caption = annotation["caption"]
    if image_id not in known_ids:
      report["orphan_annotations"].append(
          {"file": captions_file, "image_id": image_id, "caption": caption})
      continue
    if not caption.strip():
      report["dropped_captions"].append(
          {"file": captions_file, "image_id": image_id, "caption": caption,
           "reason": "empty caption"})
      continue
    id_to_captions.setdefault(image_id, []).append(caption)

  log("Loaded caption metadata for %d images from %s" %
       (len(id_to_filename), captions_file))

  log("Processing captions.")
  with_captions = []
  for image_id, base_filename in id_to_filename:
    filename = safe_image_path(image_dir, base_filename)
    if filename is None:
      report["unsafe_file_names"].append(
          {"file": captions_file, "image_id": image_id,
           "file_name": base_filename,
           "captions": len(id_to_captions.get(image_id, []))})
      continue
    if image_id not in id_to_captions:
      report["images_without_captions"].append(
          {"file": filename, "image_id": image_id})
      continue
    with_captions.append((image_id, filename))
  texts = [c for image_id, _ in with_captions for c in id_to_captions[image_id]]
  if pool is None:
    tokenized = tokenize_captions(texts, start_word, end_word, tokenizer)
  else:
    parts = chunks(texts, 4 * pool.size)
    tokenized = [caption for part in pool.map(
        tokenize_captions, parts, [start_word] * len(parts),
        [end_word] * len(parts), [tokenizer] * len(parts))
                 for caption in part]
  image_metadata = []
  num_captions = 0
  for image_id, filename in with_captions:
    count = len(id_to_captions[image_id])
    captions = []
    for text, tokens in zip(id_to_captions[image_id],
                            tokenized[num_captions:num_captions + count]):
      if max_caption_tokens and len(tokens) > max_caption_tokens:
        report["dropped_captions"].append(
            {"file": captions_file, "image_id": image_id,
             "caption": text[:200] + ("..." if len(text) > 200 else ""),
             "reason": "%d tokens, more than %d" % (len(tokens),
                                                    max_caption_tokens)})
      else:
        captions.append(tokens)
    num_captions += count
    if not captions:
      report["images_without_captions"].append(
          {"file": filename, "image_id": image_id})
      continue
    image_metadata.append(ImageMetadata(image_id, filename, captions))
  log("Finished processing %d captions for %d images in %s" %
       (num_captions, len(id_to_filename), captions_file))

  return image_metadata


def split_val_images(val_dataset):
  """Splits the val2014 images 85% / 5% / 10% (train, val, test).

  Returns:
    (train_part, val_part, test_part) lists, in the input order.
  """
  train_cutoff = int(0.85 * len(val_dataset))
  val_cutoff = int(0.90 * len(val_dataset))
  return (val_dataset[0:train_cutoff], val_dataset[train_cutoff:val_cutoff],
          val_dataset[val_cutoff:])
