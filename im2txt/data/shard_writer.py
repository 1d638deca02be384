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
"""Writing a split as sharded TFRecord files, by threads or processes.

Records of one split (one per image-caption pair, shuffled with a fixed
seed) are divided into contiguous ranges, one per worker, and each worker
writes its consecutive shards, as the original does. A shard is written to a
temporary name and renamed when complete, beside a state file
``.build_mscoco_data/<shard>.json`` of its counts: a rerun keeps complete
shards and writes the others. Workers are threads of this process, or
spawned processes (``ProcessPool``); the records are the same bytes either
way (serialized deterministically).
"""

import collections
import concurrent.futures
import json
import multiprocessing
import os
import random
import threading
import time

import numpy as np

from im2txt.common import file_io
from im2txt.data import captions_metadata
from im2txt.data import image_checks
from im2txt.data import record_io
from im2txt.data.captions_metadata import log
from im2txt.data.captions_metadata import now

# Per-shard bookkeeping of completed shards, for resuming.
STATE_DIRNAME = ".build_mscoco_data"
SHUFFLE_SEED = 12345
ImageMetadata = captions_metadata.ImageMetadata


def shard_name(name, shard, num_shards):
  """Returns e.g. train-00003-of-00256."""
  return "%s-%.5d-of-%.5d" % (name, shard, num_shards)


def thread_ranges(num_items, num_threads):
  """Contiguous [start, end) item ranges, one per thread (as linspace)."""
  spacing = np.linspace(0, num_items, num_threads + 1).astype(int)
  return [[int(spacing[i]), int(spacing[i + 1])] for i in range(num_threads)]


def thread_shards(thread_index, ranges, num_shards):
  """[(shard, first record, end)] of one worker's range, as the original."""
  num_shards_per_batch = num_shards // len(ranges)
  bounds = np.linspace(ranges[thread_index][0], ranges[thread_index][1],
                       num_shards_per_batch + 1).astype(int)
  return [(thread_index * num_shards_per_batch + s, int(bounds[s]),
           int(bounds[s + 1])) for s in range(num_shards_per_batch)]


def shard_files(output_dir, name, shard, num_shards):
  """(shard file, its state file) paths."""
  base = shard_name(name, shard, num_shards)
  return (os.path.join(output_dir, base),
          os.path.join(output_dir, STATE_DIRNAME, base + ".json"))


def is_complete(output_file, state_file):
  """A shard is complete once its state file exists beside it."""
  return file_io.exists(output_file) and file_io.exists(state_file)


def _process_image_files(thread_index, ranges, name, images, word_counts,
                         num_shards, output_dir, cache):
  """Writes this thread's shards; returns a dict of counts and problems."""
  decoder = image_checks.ImageDecoder()
  num_threads = len(ranges)
  num_shards_per_batch = num_shards // num_threads
  num_images_in_thread = ranges[thread_index][1] - ranges[thread_index][0]

  stats = {"written": 0, "skipped": [], "converted": []}
  counter = 0
  for shard, start, end in thread_shards(thread_index, ranges, num_shards):
    output_file, state_file = shard_files(output_dir, name, shard, num_shards)
    images_in_shard = range(start, end)

    if is_complete(output_file, state_file):
      shard_stats = json.loads(file_io.read_text(state_file))
      counter += len(images_in_shard)
      log("%s [thread %d]: Kept complete shard %s (%d image-caption pairs)." %
           (now(), thread_index, output_file, shard_stats["written"]))
    else:
      shard_stats = {"written": 0, "skipped": [], "converted": []}
      tmp_file = "%s.tmp-%d" % (output_file, os.getpid())
      writer = record_io.RecordWriter(tmp_file)
      for i in images_in_shard:
        image = images[i]
        try:
          image_bytes, converted = cache.load(image.filename, decoder)
        except image_checks.BadImageError as e:
          log("Skipping file with invalid JPEG data: %s (%s)" %
               (image.filename, e))
          shard_stats["skipped"].append(
              {"file": image.filename, "image_id": image.image_id,
               "reason": str(e)})
        else:
          if converted:
            shard_stats["converted"].append(image.filename)
          caption = image.captions[0]
          # The same bytes from every process (threads, worker processes, a
          # rerun): SerializeToString(deterministic=True) of the record.
          writer.write(record_io.serialize_sequence_example(
              image.image_id, image_bytes, caption,
              [word_counts.word_to_id(w) for w in caption]))
          shard_stats["written"] += 1
        counter += 1
        if not counter % 1000:
          log("%s [thread %d]: Processed %d of %d items in thread batch." %
               (now(), thread_index, counter, num_images_in_thread))
      writer.close()
      file_io.write_atomically(state_file,
                        json.dumps(shard_stats, sort_keys=True).encode("utf-8"))
      file_io.rename(tmp_file, output_file)
      log("%s [thread %d]: Wrote %d image-caption pairs to %s" %
           (now(), thread_index, shard_stats["written"], output_file))

    stats["written"] += shard_stats["written"]
    stats["skipped"].extend(shard_stats["skipped"])
    stats["converted"].extend(shard_stats["converted"])

  decoder.close()
  log("%s [thread %d]: Wrote %d image-caption pairs to %d shards." %
       (now(), thread_index, stats["written"], num_shards_per_batch))
  return stats


def _start_worker():
  """First task of each worker process: its imports are done."""
  return os.getpid()


# How often a worker process checks that its parent is alive, in seconds.
PARENT_CHECK_SECS = 0.5


def _exit_when_orphaned(parent_pid):
  """Worker initializer: ends the worker when the builder is gone.

  A builder killed with SIGKILL cannot stop its workers, and a worker in
  the middle of a shard would go on writing for minutes. Each worker polls
  its parent id; once it changes (the parent died and the worker was
  re-parented), the worker exits at once, leaving at most a temporary file
  that the next run removes.
  """

  def watch():
    while True:
      if os.getppid() != parent_pid:
        os._exit(3)  # pylint: disable=protected-access
      time.sleep(PARENT_CHECK_SECS)

  threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ProcessPool(concurrent.futures.ProcessPoolExecutor):
  """Spawned worker processes, started at once; `size` of them. They exit
  by themselves when this process dies."""

  def __init__(self, size):
    super().__init__(max_workers=size,
                     mp_context=multiprocessing.get_context("spawn"),
                     initializer=_exit_when_orphaned,
                     initargs=(os.getpid(),))
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
  cache = image_checks.ImageCache()
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
  cache = cache or image_checks.ImageCache()
  # One record per caption, shuffled with a fixed seed so that captions of
  # one image spread over shards and the order is repeatable.
  images = [ImageMetadata(image.image_id, image.filename, [caption])
            for image in images for caption in image.captions]
  random.Random(SHUFFLE_SEED).shuffle(images)

  num_threads = min(num_shards, num_threads)
  ranges = thread_ranges(len(images), num_threads)
  file_io.makedirs(file_io.join(output_dir, STATE_DIRNAME))
  if pool is None:
    log("Launching %d threads for spacings: %s" % (num_threads, ranges))
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=num_threads) as threads:
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
              for shard, start, end in thread_shards(thread_index, ranges,
                                                      num_shards)
              if not is_complete(*shard_files(output_dir, name, shard,
                                                num_shards))
              for i in range(start, end)]
    known = cache.entries()
    todo = list(collections.OrderedDict.fromkeys(
        image.filename for image in needed if image.filename not in known))
    if todo:
      log("Checking %d image files in %d worker processes." %
          (len(todo), pool.size))
      for entries in pool.map(image_checks.validate_images,
                              captions_metadata.chunks(todo, 4 * pool.size)):
        cache.update(entries)
    log("Writing %d workers' shards in %d processes for spacings: %s" %
         (num_threads, pool.size, ranges))
    futures = []
    for thread_index, (start, end) in enumerate(ranges):
      records = images[start:end]
      futures.append(pool.submit(
          _write_shards_in_process, thread_index, ranges, name, records,
          word_counts, num_shards, output_dir,
          cache.entries(set(image.filename for image in records))))
    results = [f.result() for f in futures]

  log("%s: Finished processing all %d image-caption pairs in data set '%s'." %
       (now(), len(images), name))
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
