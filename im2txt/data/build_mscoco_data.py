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
"""Converts MSCOCO captions and images into sharded TFRecord files.

Input (the MSCOCO 2014 layout):

  train_image_dir/COCO_train2014_*.jpg   82,783 images
  val_image_dir/COCO_val2014_*.jpg       40,504 images
  captions_train2014.json, captions_val2014.json
      {"images": [{"id": int, "file_name": str, ...}, ...],
       "annotations": [{"image_id": int, "caption": str, ...}, ...]}

Split (by image, in the order of each JSON file's "images" list):

  train  all train2014 images + the first 85% of val2014   -> 256 shards
  val    the next 5% of val2014                             ->   4 shards
  test   the last 10% of val2014                            ->   8 shards

Output in output_dir: train-?????-of-00256, val-?????-of-00004,
test-?????-of-00008 (one SequenceExample per image-caption pair, schema in
im2txt/data/schema.py, pairs shuffled with seed 12345 before sharding), the
vocabulary file (word_counts.txt; format in im2txt/data/vocab_builder.py)
and build_report.json, which lists every image that was skipped or
converted and every caption that was dropped. On full MSCOCO the shards take
about 20 GB beside the 19 GB of downloaded images.

Bad input never stops the run halfway and nothing is lost silently:

* JPEGs that TensorFlow decodes (RGB, grayscale, CMYK, progressive) are
  stored byte for byte; the model decodes them with channels=3.
* Other image formats TensorFlow decodes (PNG, GIF, BMP, even when named
  .jpg) are re-encoded as RGB JPEG (quality 95) and reported as converted.
* Unreadable images (truncated or corrupt data, unknown formats, missing
  files) are skipped with their pairs, named in the log, counted at the end
  ("N images skipped: ...") and listed in build_report.json.
* Empty or whitespace-only captions are dropped and reported.
* A captions file that is not valid MSCOCO JSON stops the run before
  anything is written, naming the file and the problem.

Shards are written to a temporary name and renamed when complete. A rerun
in the same output_dir keeps the shards that are complete and writes only
the missing ones; its output is the same as that of an uninterrupted run.
"""

import collections
import concurrent.futures
import datetime
import json
import multiprocessing
import os
import random
import sys
import threading

from absl import flags

from im2txt import cli
import numpy as np

import im2txt  # noqa: F401  (sets TF_USE_LEGACY_KERAS)
import tensorflow.compat.v1 as tf

from im2txt import file_io
from im2txt.data import schema
from im2txt.data import vocab_builder

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("train_image_dir", "/tmp/train2014/",
                      "Training image directory.")
  flags.DEFINE_string("val_image_dir", "/tmp/val2014",
                      "Validation image directory.")
  flags.DEFINE_string("train_captions_file", "/tmp/captions_train2014.json",
                      "Training captions JSON file.")
  flags.DEFINE_string("val_captions_file", "/tmp/captions_val2014.json",
                      "Validation captions JSON file.")
  flags.DEFINE_string("output_dir", "/tmp/", "Output data directory.")
  flags.DEFINE_integer("train_shards", 256,
                       "Number of shards in training TFRecord files.")
  flags.DEFINE_integer("val_shards", 4,
                       "Number of shards in validation TFRecord files.")
  flags.DEFINE_integer("test_shards", 8,
                       "Number of shards in testing TFRecord files.")
  flags.DEFINE_string("start_word", "<S>",
                      "Special word added to the beginning of each sentence.")
  flags.DEFINE_string("end_word", "</S>",
                      "Special word added to the end of each sentence.")
  flags.DEFINE_string("unknown_word", "<UNK>",
                      "Special word meaning 'unknown'. Not written to the "
                      "vocabulary file: unknown words get id len(vocabulary) "
                      "and the reader names that id with this word.")
  flags.DEFINE_integer("min_word_count", 4,
                       "The minimum number of occurrences of each word in the "
                       "training set for inclusion in the vocabulary.")
  flags.DEFINE_string("word_counts_output_file", "/tmp/word_counts.txt",
                      "Output vocabulary file of word counts.")
  flags.DEFINE_integer("num_threads", 8,
                       "Number of workers to preprocess the images.")
  flags.DEFINE_enum("parallelism", "processes", PARALLELISM,
                    "How the --num_threads workers run: 'processes' (each "
                    "its own Python and TensorFlow, about 3 s to start; "
                    "scales with cores) or 'threads' of this process (the "
                    "original; Python's lock limits it to 1.1-1.5x at 2). "
                    "The output is the same.")


ImageMetadata = collections.namedtuple("ImageMetadata",
                                       ["image_id", "filename", "captions"])

REPORT_FILENAME = "build_report.json"
# Per-shard bookkeeping of completed shards, for resuming.
STATE_DIRNAME = ".build_mscoco_data"
SHUFFLE_SEED = 12345
# JPEG quality of images converted from other formats.
CONVERTED_JPEG_QUALITY = 95
# How the workers run (see build()).
PARALLELISM = ("processes", "threads")


class CaptionsFileError(ValueError):
  """A captions JSON file is missing or not in the MSCOCO format."""


class BadImageError(ValueError):
  """An image cannot be decoded; the message says why."""


def _now():
  return datetime.datetime.now()


def _log(message):
  print(message, flush=True)


# ---------------------------------------------------------------------------
# Caption metadata.


def _load_captions_json(captions_file):
  """Reads and validates one MSCOCO captions file, or raises CaptionsFileError."""
  try:
    with tf.gfile.GFile(captions_file, "rb") as f:
      data = json.loads(f.read().decode("utf-8"))
  except tf.errors.NotFoundError:
    raise CaptionsFileError("%s: captions file not found" % captions_file)
  except UnicodeDecodeError as e:
    raise CaptionsFileError("%s: not UTF-8 text (%s)" % (captions_file, e))
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
  for i, annotation in enumerate(data["annotations"]):
    if (not isinstance(annotation, dict) or
        not isinstance(annotation.get("image_id"), int) or
        not isinstance(annotation.get("caption"), str)):
      raise CaptionsFileError(
          "%s: annotations[%d] needs an integer 'image_id' and a string "
          "'caption', got %.200r" % (captions_file, i, annotation))
  return data


def _tokenize_captions(captions, start_word, end_word):
  """Tokenized captions, in order (run by worker processes)."""
  return [vocab_builder.process_caption(c, start_word, end_word)
          for c in captions]


def _chunks(items, num_chunks):
  """Splits a list into up to num_chunks contiguous, near-equal lists."""
  bounds = np.linspace(0, len(items), num_chunks + 1).astype(int)
  return [items[bounds[i]:bounds[i + 1]] for i in range(num_chunks)
          if bounds[i] < bounds[i + 1]]


def load_and_process_metadata(captions_file, image_dir, start_word="<S>",
                              end_word="</S>", report=None, pool=None):
  """Loads image metadata and tokenized captions from a captions file.

  Args:
    captions_file: JSON file containing caption annotations.
    image_dir: Directory containing the image files.
    start_word: Start word of every caption.
    end_word: End word of every caption.
    report: Optional dict; dropped captions and annotations of unknown images
      are appended to its lists "dropped_captions" and
      "orphan_annotations".
    pool: Optional process pool (see build()) that tokenizes the captions.

  Returns:
    A list of ImageMetadata, in the file's image order, each with its list of
    tokenized captions. Images without any usable caption are left out (and
    reported under "images_without_captions").

  Raises:
    CaptionsFileError: If the file is missing or not in MSCOCO format.
  """
  return process_metadata(_load_captions_json(captions_file), captions_file,
                          image_dir, start_word, end_word, report, pool)


def process_metadata(data, captions_file, image_dir, start_word="<S>",
                     end_word="</S>", report=None, pool=None):
  """load_and_process_metadata() on the already loaded JSON `data`."""
  report = report if report is not None else collections.defaultdict(list)
  id_to_filename = [(x["id"], x["file_name"]) for x in data["images"]]

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

  _log("Loaded caption metadata for %d images from %s" %
       (len(id_to_filename), captions_file))

  _log("Processing captions.")
  with_captions = []
  for image_id, base_filename in id_to_filename:
    filename = os.path.join(image_dir, base_filename)
    if image_id not in id_to_captions:
      report["images_without_captions"].append(
          {"file": filename, "image_id": image_id})
      continue
    with_captions.append((image_id, filename))
  texts = [c for image_id, _ in with_captions for c in id_to_captions[image_id]]
  if pool is None:
    tokenized = _tokenize_captions(texts, start_word, end_word)
  else:
    chunks = _chunks(texts, 4 * pool.size)
    tokenized = [caption for part in pool.map(
        _tokenize_captions, chunks, [start_word] * len(chunks),
        [end_word] * len(chunks)) for caption in part]
  image_metadata = []
  num_captions = 0
  for image_id, filename in with_captions:
    count = len(id_to_captions[image_id])
    captions = tokenized[num_captions:num_captions + count]
    image_metadata.append(ImageMetadata(image_id, filename, captions))
    num_captions += count
  _log("Finished processing %d captions for %d images in %s" %
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


# ---------------------------------------------------------------------------
# Images.


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


class ImageDecoder(object):
  """Validates images with TensorFlow's decoders; one instance per thread.

  Each instance owns a small graph and a single-threaded session, so that
  threads decode in parallel and the builder works whatever the process's
  eager or graph mode.
  """

  def __init__(self):
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
    try:
      if fmt == "jpeg":
        shape = self._sess.run(self._jpeg_shape,
                               feed_dict={self._encoded: encoded_image})
        if shape[2] != 3:
          raise BadImageError("decoded to %d channels, expected 3" % shape[2])
        return encoded_image, False
      converted = self._sess.run(self._reencoded,
                                 feed_dict={self._encoded: encoded_image})
      return converted, True
    except tf.errors.OpError as e:
      raise BadImageError("invalid %s data (%s)"
                          % (fmt.upper(), e.message.splitlines()[0]))

  def close(self):
    self._sess.close()


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
      with tf.gfile.GFile(filename, "rb") as f:
        encoded_image = f.read()
    except tf.errors.NotFoundError:
      entry = ("bad", "file not found")
      with self._lock:
        self._entries[filename] = entry
      raise BadImageError(entry[1])
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


# ---------------------------------------------------------------------------
# Shards.


def shard_name(name, shard, num_shards):
  """Returns e.g. train-00003-of-00256."""
  return "%s-%.5d-of-%.5d" % (name, shard, num_shards)


def thread_ranges(num_items, num_threads):
  """Contiguous [start, end) item ranges, one per thread (as linspace)."""
  spacing = np.linspace(0, num_items, num_threads + 1).astype(int)
  return [[int(spacing[i]), int(spacing[i + 1])] for i in range(num_threads)]


def _thread_shards(thread_index, ranges, num_shards):
  """[(shard, first record, end)] of one worker's range, as the original."""
  num_shards_per_batch = num_shards // len(ranges)
  bounds = np.linspace(ranges[thread_index][0], ranges[thread_index][1],
                       num_shards_per_batch + 1).astype(int)
  return [(thread_index * num_shards_per_batch + s, int(bounds[s]),
           int(bounds[s + 1])) for s in range(num_shards_per_batch)]


def _shard_files(output_dir, name, shard, num_shards):
  """(shard file, its state file) paths."""
  base = shard_name(name, shard, num_shards)
  return (os.path.join(output_dir, base),
          os.path.join(output_dir, STATE_DIRNAME, base + ".json"))


def _is_complete(output_file, state_file):
  """A shard is complete once its state file exists beside it."""
  return os.path.exists(output_file) and os.path.exists(state_file)


def _process_image_files(thread_index, ranges, name, images, word_counts,
                         num_shards, output_dir, cache):
  """Writes this thread's shards; returns a dict of counts and problems."""
  decoder = ImageDecoder()
  num_threads = len(ranges)
  num_shards_per_batch = num_shards // num_threads
  num_images_in_thread = ranges[thread_index][1] - ranges[thread_index][0]

  stats = {"written": 0, "skipped": [], "converted": []}
  counter = 0
  for shard, start, end in _thread_shards(thread_index, ranges, num_shards):
    output_file, state_file = _shard_files(output_dir, name, shard, num_shards)
    images_in_shard = range(start, end)

    if _is_complete(output_file, state_file):
      with open(state_file, "r", encoding="utf-8") as f:
        shard_stats = json.load(f)
      counter += len(images_in_shard)
      _log("%s [thread %d]: Kept complete shard %s (%d image-caption pairs)." %
           (_now(), thread_index, output_file, shard_stats["written"]))
    else:
      shard_stats = {"written": 0, "skipped": [], "converted": []}
      tmp_file = "%s.tmp-%d" % (output_file, os.getpid())
      writer = tf.python_io.TFRecordWriter(tmp_file)
      for i in images_in_shard:
        image = images[i]
        try:
          image_bytes, converted = cache.load(image.filename, decoder)
        except BadImageError as e:
          _log("Skipping file with invalid JPEG data: %s (%s)" %
               (image.filename, e))
          shard_stats["skipped"].append(
              {"file": image.filename, "image_id": image.image_id,
               "reason": str(e)})
        else:
          if converted:
            shard_stats["converted"].append(image.filename)
          caption = image.captions[0]
          example = schema.make_sequence_example(
              image.image_id, image_bytes, caption,
              [word_counts.word_to_id(w) for w in caption])
          # Deterministic: map entries in key order, so that every process
          # (threads, worker processes, a rerun) writes the same bytes.
          writer.write(example.SerializeToString(deterministic=True))
          shard_stats["written"] += 1
        counter += 1
        if not counter % 1000:
          _log("%s [thread %d]: Processed %d of %d items in thread batch." %
               (_now(), thread_index, counter, num_images_in_thread))
      writer.close()
      file_io.write_atomically(state_file,
                        json.dumps(shard_stats, sort_keys=True).encode("utf-8"))
      os.replace(tmp_file, output_file)
      _log("%s [thread %d]: Wrote %d image-caption pairs to %s" %
           (_now(), thread_index, shard_stats["written"], output_file))

    stats["written"] += shard_stats["written"]
    stats["skipped"].extend(shard_stats["skipped"])
    stats["converted"].extend(shard_stats["converted"])

  decoder.close()
  _log("%s [thread %d]: Wrote %d image-caption pairs to %d shards." %
       (_now(), thread_index, stats["written"], num_shards_per_batch))
  return stats


def _start_worker():
  """First task of each worker process: its imports (TensorFlow) are done."""
  return os.getpid()


def _validate_images(filenames):
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


class _ProcessPool(concurrent.futures.ProcessPoolExecutor):
  """Spawned worker processes, started at once; `size` of them."""

  def __init__(self, size):
    super().__init__(max_workers=size,
                     mp_context=multiprocessing.get_context("spawn"))
    self.size = size
    for _ in range(size):
      self.submit(_start_worker)  # They start while the captions load.


class _OffsetList(object):
  """items[i - offset] as [i]: a worker's slice, indexed like the whole."""

  def __init__(self, offset, items):
    self._offset = offset
    self._items = items

  def __getitem__(self, index):
    return self._items[index - self._offset]


def _write_shards_in_process(thread_index, ranges, name, images, word_counts,
                             num_shards, output_dir, entries):
  """_process_image_files in a worker process, on its slice of the records
  (`images` = records[ranges[thread_index][0]:ranges[thread_index][1]]) with
  the verdicts of their image files."""
  cache = ImageCache()
  cache.update(entries)
  return _process_image_files(
      thread_index, ranges, name, _OffsetList(ranges[thread_index][0], images),
      word_counts, num_shards, output_dir, cache)


def process_dataset(name, images, word_counts, num_shards, num_threads,
                    output_dir, cache=None, pool=None):
  """Writes one split as sharded TFRecord files.

  Args:
    name: Split name ("train", "val" or "test"); the shard file prefix.
    images: List of ImageMetadata.
    word_counts: A vocab_builder.WordCounts.
    num_shards: Number of output shards.
    num_threads: Maximum number of writer threads.
    output_dir: Output directory.
    cache: Optional ImageCache shared between splits.
    pool: Optional process pool of num_threads workers (see build()); None
      runs the workers as threads of this process.

  Returns:
    A dict: "attempted" and "written" pair counts, "skipped" (list of
    {file, image_id, reason} per skipped pair) and "converted" (files).
  """
  cache = cache or ImageCache()
  # One record per caption, shuffled with a fixed seed so that captions of
  # one image spread over shards and the order is repeatable.
  images = [ImageMetadata(image.image_id, image.filename, [caption])
            for image in images for caption in image.captions]
  random.Random(SHUFFLE_SEED).shuffle(images)

  num_threads = min(num_shards, num_threads)
  ranges = thread_ranges(len(images), num_threads)
  os.makedirs(os.path.join(output_dir, STATE_DIRNAME), exist_ok=True)
  if pool is None:
    _log("Launching %d threads for spacings: %s" % (num_threads, ranges))
    with concurrent.futures.ThreadPoolExecutor(max_workers=num_threads) as threads:
      futures = [
          threads.submit(_process_image_files, thread_index, ranges, name,
                         images, word_counts, num_shards, output_dir, cache)
          for thread_index in range(len(ranges))
      ]
      results = [f.result() for f in futures]
  else:
    # An image's records spread over all shards, so over all workers: first
    # each new image file is decoded once, by one worker, then every worker
    # writes its shards with those verdicts, decoding nothing.
    # Only records of shards still to write need their images (a resumed
    # build keeps complete shards without looking at their images).
    needed = [images[i] for thread_index in range(len(ranges))
              for shard, start, end in _thread_shards(thread_index, ranges,
                                                      num_shards)
              if not _is_complete(*_shard_files(output_dir, name, shard,
                                                num_shards))
              for i in range(start, end)]
    known = cache.entries()
    todo = list(collections.OrderedDict.fromkeys(
        image.filename for image in needed if image.filename not in known))
    if todo:
      _log("Checking %d image files in %d worker processes." %
           (len(todo), pool.size))
      for entries in pool.map(_validate_images, _chunks(todo, 4 * pool.size)):
        cache.update(entries)
    _log("Writing %d workers' shards in %d processes for spacings: %s" %
         (num_threads, pool.size, ranges))
    futures = []
    for thread_index, (start, end) in enumerate(ranges):
      records = images[start:end]
      futures.append(pool.submit(
          _write_shards_in_process, thread_index, ranges, name, records,
          word_counts, num_shards, output_dir,
          cache.entries(set(image.filename for image in records))))
    results = [f.result() for f in futures]

  _log("%s: Finished processing all %d image-caption pairs in data set '%s'." %
       (_now(), len(images), name))
  return {
      "attempted": len(images),
      "written": sum(r["written"] for r in results),
      "skipped": [x for r in results for x in r["skipped"]],
      "converted": sorted(set(x for r in results for x in r["converted"])),
  }


def check_shards_and_threads(num_threads, **shards):
  """Raises ValueError unless every shard count suits the thread count."""
  if num_threads < 1:
    raise ValueError("--num_threads must be positive, got %d" % num_threads)
  for flag, num_shards in sorted(shards.items()):
    if num_shards < 1:
      raise ValueError("--%s must be positive, got %d" % (flag, num_shards))
    if num_shards >= num_threads and num_shards % num_threads:
      raise ValueError(
          "Please make the --num_threads (%d) commensurate with --%s (%d): "
          "the shard count must be a multiple of the thread count, or smaller."
          % (num_threads, flag, num_shards))


def summarize_skips(split_stats):
  """Returns (number of distinct skipped images, pairs lost, one-line text)."""
  images = collections.OrderedDict()
  pairs = 0
  for stats in split_stats.values():
    for item in stats["skipped"]:
      images.setdefault(item["file"], item["reason"])
      pairs += 1
  text = "%d images skipped (%d image-caption pairs)" % (len(images), pairs)
  if images:
    text += ": " + "; ".join("%s (%s)" % (f, r) for f, r in images.items())
  return len(images), pairs, text


def build(train_image_dir, val_image_dir, train_captions_file,
          val_captions_file, output_dir, word_counts_output_file,
          train_shards=256, val_shards=4, test_shards=8, start_word="<S>",
          end_word="</S>", min_word_count=4, num_threads=8, cache=None,
          parallelism="threads"):
  """Runs the whole conversion. Returns the report dict (also written).

  `cache` (an ImageCache by default) decides how often each image is
  decoded; see ImageCache.

  `parallelism` says how the num_threads workers run: "threads" of this
  process (the original), or "processes": up to num_threads worker
  processes (no more than processors), started once both captions files
  have loaded ("spawn": each imports TensorFlow, a few CPU-seconds) and used
  for the tokenization, the image checks and the shard writing. Processes are not
  held back by Python's global lock, which threads are for everything but
  the decoding. The output is the same either way.
  """
  if parallelism not in PARALLELISM:
    raise ValueError("parallelism must be one of %s, got %r"
                     % (PARALLELISM, parallelism))
  check_shards_and_threads(num_threads, train_shards=train_shards,
                           val_shards=val_shards, test_shards=test_shards)
  # Load and validate both files before anything is written or started.
  captions = [(_load_captions_json(captions_file), captions_file, image_dir)
              for captions_file, image_dir in (
                  (train_captions_file, train_image_dir),
                  (val_captions_file, val_image_dir))]
  # More processes than processors would only add start-up work; the
  # workers' record ranges (and so the shards) still follow num_threads.
  num_processes = min(num_threads, os.cpu_count() or 1)
  pool = None
  if parallelism == "processes" and num_processes > 1:
    pool = _ProcessPool(num_processes)
  try:
    return _build(captions, output_dir, word_counts_output_file, train_shards,
                  val_shards, test_shards, start_word, end_word,
                  min_word_count, num_threads, cache, pool)
  finally:
    if pool is not None:
      pool.shutdown(cancel_futures=True)


def _build(captions, output_dir, word_counts_output_file, train_shards,
           val_shards, test_shards, start_word, end_word, min_word_count,
           num_threads, cache, pool):
  """build() on the loaded captions files, with its worker pool (None:
  threads)."""
  report = collections.defaultdict(list)
  mscoco_train_dataset, mscoco_val_dataset = [
      process_metadata(data, captions_file, image_dir, start_word, end_word,
                       report, pool)
      for data, captions_file, image_dir in captions]

  # The original im2txt split: train2014 + 85% of val2014 / 5% / 10%.
  val_train, val_dataset, test_dataset = split_val_images(mscoco_val_dataset)
  train_dataset = mscoco_train_dataset + val_train

  if not tf.gfile.IsDirectory(output_dir):
    tf.gfile.MakeDirs(output_dir)

  # Vocabulary from the training captions only.
  _log("Creating vocabulary.")
  word_counts, total_words = vocab_builder.create_vocab(
      (c for image in train_dataset for c in image.captions), min_word_count)
  _log("Total words: %d" % total_words)
  _log("Words in vocabulary: %d" % len(word_counts))
  vocab_dir = os.path.dirname(word_counts_output_file)
  if vocab_dir and not tf.gfile.IsDirectory(vocab_dir):
    tf.gfile.MakeDirs(vocab_dir)
  file_io.write_atomically(word_counts_output_file,
                    word_counts.to_file_contents().encode("utf-8"))
  _log("Wrote vocabulary file: %s" % word_counts_output_file)

  cache = cache or ImageCache()
  split_stats = collections.OrderedDict()
  for name, dataset, num_shards in (("train", train_dataset, train_shards),
                                    ("val", val_dataset, val_shards),
                                    ("test", test_dataset, test_shards)):
    split_stats[name] = process_dataset(name, dataset, word_counts, num_shards,
                                        num_threads, output_dir, cache, pool)

  num_skipped, pairs_lost, text = summarize_skips(split_stats)
  converted = sorted(set(f for s in split_stats.values()
                         for f in s["converted"]))
  result = {
      "splits": {
          name: {"images": len(dataset), "pairs_attempted": s["attempted"],
                 "pairs_written": s["written"],
                 "pairs_skipped": len(s["skipped"])}
          for (name, s), dataset in zip(
              split_stats.items(), (train_dataset, val_dataset, test_dataset))
      },
      "vocabulary": {"file": word_counts_output_file,
                     "words": len(word_counts), "distinct_tokens": total_words},
      "images_skipped": num_skipped,
      "pairs_skipped": pairs_lost,
      "skipped": [x for s in split_stats.values() for x in s["skipped"]],
      "images_converted": converted,
      "dropped_captions": report["dropped_captions"],
      "orphan_annotations": report["orphan_annotations"],
      "images_without_captions": report["images_without_captions"],
  }
  file_io.write_atomically(os.path.join(output_dir, REPORT_FILENAME),
                    json.dumps(result, indent=2, sort_keys=True,
                               ensure_ascii=False).encode("utf-8"))
  _log(text)
  if converted:
    _log("%d images converted to RGB JPEG: %s" %
         (len(converted), ", ".join(converted)))
  if report["dropped_captions"]:
    _log("%d empty captions dropped" % len(report["dropped_captions"]))
  if report["images_without_captions"]:
    _log("%d images have no caption and were left out" %
         len(report["images_without_captions"]))
  if report["orphan_annotations"]:
    _log("%d annotations refer to unknown image ids and were ignored" %
         len(report["orphan_annotations"]))
  _log("Report: %s" % os.path.join(output_dir, REPORT_FILENAME))
  return result


def main(unused_argv):
  try:
    build(train_image_dir=FLAGS.train_image_dir,
          val_image_dir=FLAGS.val_image_dir,
          train_captions_file=FLAGS.train_captions_file,
          val_captions_file=FLAGS.val_captions_file,
          output_dir=FLAGS.output_dir,
          word_counts_output_file=FLAGS.word_counts_output_file,
          train_shards=FLAGS.train_shards,
          val_shards=FLAGS.val_shards,
          test_shards=FLAGS.test_shards,
          start_word=FLAGS.start_word,
          end_word=FLAGS.end_word,
          min_word_count=FLAGS.min_word_count,
          num_threads=FLAGS.num_threads,
          parallelism=FLAGS.parallelism)
  except (CaptionsFileError, ValueError) as e:
    sys.exit("build_mscoco_data: error: %s" % e)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
