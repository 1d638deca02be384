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
"""The MSCOCO conversion as a library: build() and its report.

build() is what the build_mscoco_data program runs (see its docstring for
the input layout, the split, the output and how bad input is handled):
both captions files are loaded and validated first, then the vocabulary is
made from the training captions, then the three splits are written
(im2txt/data/shard_writer.py) and build_report.json records every image
skipped or converted and every caption dropped.

A rerun into the same output_dir keeps complete shards only if they were
written from the same inputs: the first run records a manifest
(.build_mscoco_data/manifest.json: the captions files' SHA-256, the image
directories and every setting that changes the output) before it writes
anything, and a rerun whose inputs differ is refused, naming what changed.
One builder at a time may use an output_dir (a lock file names the owner);
temporary files left by a killed run are removed by the next one.
"""

import collections
import json
import os

from im2txt.common import dir_lock
from im2txt.common import file_io
from im2txt.data import build_manifest
from im2txt.data import caption_files
from im2txt.data import captions_metadata
from im2txt.data import image_checks
from im2txt.data import karpathy_split
from im2txt.data import schema
from im2txt.data import shard_writer
from im2txt.data import tokenizers
from im2txt.data import vocab_builder
from im2txt.data.captions_metadata import log

REPORT_FILENAME = "build_report.json"
LOCK_FILENAME = ".build_mscoco_data.lock"
# What build() raises when output_dir holds shards of other inputs.
InputsChangedError = build_manifest.InputsChangedError
MANIFEST_FILENAME = build_manifest.MANIFEST_FILENAME


# How the workers run (see build()).
PARALLELISM = ("auto", "processes", "threads")

# "auto" runs the workers as processes from this many images on, as threads
# below. Measured on 2 cores (benchmarks/builder_throughput.py): threads
# were 1.13x as fast at 500 images, processes 1.26x at 20,000; a line
# through both puts the crossing near 800 images (processes cost about a
# second more to start, then save about 1.5 ms per image).
AUTO_PROCESSES_MIN_IMAGES = 1000


def choose_parallelism(parallelism, num_images):
  """The workers' kind for `parallelism` ("auto": by the number of images)."""
  if parallelism != "auto":
    return parallelism
  return ("processes" if num_images >= AUTO_PROCESSES_MIN_IMAGES
          else "threads")


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
          train_shards=256, val_shards=4, test_shards=8,
          start_word=schema.START_WORD, end_word=schema.END_WORD,
          min_word_count=4, num_threads=8, cache=None,
          parallelism="auto",
          max_caption_tokens=captions_metadata.MAX_CAPTION_TOKENS,
          split_file="", input_format="mscoco", captions_file="",
          image_dir="", tokenizer=None, val_fraction=0.05,
          test_fraction=0.10, base_vocab_file=""):
  """Runs the whole conversion. Returns the report dict (also written).

  With input_format "mscoco" (the original's), the captions are MSCOCO's
  two files and the split is the original's (train2014 and the first 85%
  of val2014 for training, 5% val, 10% test) or, with `split_file`, the one
  a dataset_coco.json file gives (the Karpathy split: train + restval, val,
  test; see karpathy_split). With "karpathy", "jsonl" or "csv", the
  captions are `captions_file`'s and the images under `image_dir`
  (caption_files.py); images the file gives no split are divided with
  `val_fraction` and `test_fraction`.

  `tokenizer` (a tokenizers.Tokenizer; the original's by default) cuts the
  captions into words. With `base_vocab_file`, the vocabulary keeps that
  file's words at their ids and appends the new ones (vocab_builder).

  Captions of more than max_caption_tokens tokens (start and end words
  included; 0: no limit) are dropped and reported.

  `cache` (an ImageCache by default) decides how often each image is
  decoded; see ImageCache.

  `parallelism` says how the num_threads workers run: "threads" of this
  process (the original), "processes": up to num_threads worker processes
  (no more than processors), started once both captions files have loaded
  ("spawn": each starts its own Python, about a second, without
  TensorFlow) and used for the tokenization, the image checks and the
  shard writing, or "auto" (the default): processes from
  AUTO_PROCESSES_MIN_IMAGES images on, threads below. Processes are not
  held back by Python's global lock, which threads are for everything but
  the decoding. The output is the same either way. Worker processes stop
  by themselves if this process dies.

  Raises:
    captions_metadata.CaptionsFileError: If a captions file is malformed,
      or an image id is in both files.
    karpathy_split.SplitFileError: If the split file is malformed or puts
      an image in two splits.
    vocab_builder.BaseVocabularyError: If base_vocab_file cannot be read.
    InputsChangedError: If output_dir holds shards of other inputs.
    dir_lock.LockError: If another builder uses output_dir.
    ValueError: If the shard and thread counts or the fractions do not fit.
  """
  if parallelism not in PARALLELISM:
    raise ValueError("parallelism must be one of %s, got %r"
                     % (PARALLELISM, parallelism))
  if input_format not in caption_files.INPUT_FORMATS:
    raise ValueError("input_format must be one of %s, got %r"
                     % (", ".join(caption_files.INPUT_FORMATS), input_format))
  tokenizer = tokenizer or tokenizers.Tokenizer()
  shard_writer.check_shards_and_threads(num_threads, train_shards=train_shards,
                           val_shards=val_shards, test_shards=test_shards)
  settings = dict(
      train_shards=train_shards, val_shards=val_shards,
      test_shards=test_shards, num_threads=num_threads,
      start_word=start_word, end_word=end_word,
      min_word_count=min_word_count,
      max_caption_tokens=max_caption_tokens, input_format=input_format,
      **tokenizer.description())
  base_vocab = None
  if base_vocab_file:
    base_vocab = vocab_builder.read_base_vocab(base_vocab_file)
    settings.update(base_vocab_file=os.path.abspath(base_vocab_file),
                    base_vocab_sha256=build_manifest.sha256(base_vocab_file))
  process = lambda data, captions_file, image_dir, report, pool: (
      captions_metadata.process_metadata(
          data, captions_file, image_dir, start_word, end_word, report, pool,
          max_caption_tokens, tokenizer))
  if input_format == "mscoco":
    if captions_file or image_dir:
      raise ValueError(
          "--captions_file and --image_dir are for --input_format karpathy, "
          "jsonl or csv; MSCOCO's files are --train_captions_file, "
          "--val_captions_file, --train_image_dir and --val_image_dir.")
    load_splits, num_images, manifest = _mscoco_inputs(
        train_image_dir, val_image_dir, train_captions_file,
        val_captions_file, word_counts_output_file, split_file, settings,
        process)
  else:
    if not captions_file or not image_dir:
      raise ValueError("--input_format=%s reads --captions_file and takes "
                       "the images from --image_dir: give both."
                       % input_format)
    caption_files.check_fractions(val_fraction, test_fraction)
    loaded = caption_files.load(input_format, captions_file)
    num_images = len(loaded.data["images"])
    settings.update(val_fraction=val_fraction, test_fraction=test_fraction)
    manifest = dict(
        manifest_version=build_manifest.MANIFEST_VERSION,
        captions_file=os.path.abspath(captions_file),
        captions_sha256=build_manifest.sha256(captions_file),
        image_dir=os.path.abspath(image_dir),
        word_counts_output_file=os.path.abspath(word_counts_output_file),
        **settings)

    def load_splits(report, pool):
      dataset = process(loaded.data, captions_file, image_dir, report, pool)
      report["images"] = [
          {"image_id": image["id"], "file_name": image["file_name"],
           "split": loaded.split_of[image["id"]]}
          for image in loaded.data["images"]]
      return caption_files.divide(dataset, loaded.split_of, val_fraction,
                                  test_fraction)

  parallelism = choose_parallelism(parallelism, num_images)
  with dir_lock.DirectoryLock(output_dir, LOCK_FILENAME, log=log):
    build_manifest.remove_leftovers(output_dir)
    build_manifest.check_manifest(output_dir, manifest)
    return _build_with_workers(
        load_splits, output_dir, word_counts_output_file, train_shards,
        val_shards, test_shards, min_word_count, num_threads, cache,
        parallelism, dict(input_format=input_format, tokenizer=tokenizer,
                          base_vocab=base_vocab, split_file=split_file))


def _mscoco_inputs(train_image_dir, val_image_dir, train_captions_file,
                   val_captions_file, word_counts_output_file, split_file,
                   settings, process):
  """MSCOCO's two files, loaded and checked: (load_splits(report, pool),
  number of images, manifest)."""
  # Load and validate both files before anything is written or started.
  captions = [
      (captions_metadata.load_captions_json(captions_file), captions_file,
       image_dir)
      for captions_file, image_dir in ((train_captions_file, train_image_dir),
                                       (val_captions_file, val_image_dir))
  ]
  split = karpathy_split.load_split_file(split_file) if split_file else None
  in_both = sorted(set(x["id"] for x in captions[0][0]["images"]) &
                   set(x["id"] for x in captions[1][0]["images"]))
  if in_both:
    raise captions_metadata.CaptionsFileError(
        "%d image ids are in both %s and %s (e.g. %s): a record's image id "
        "would name two images." % (len(in_both), train_captions_file,
                                    val_captions_file, in_both[:10]))
  num_images = sum(len(data["images"]) for data, _, _ in captions)
  manifest = build_manifest.make_manifest(
      train_captions_file, val_captions_file, train_image_dir, val_image_dir,
      word_counts_output_file, settings)
  if split_file:
    # Only then: outputs of the original split keep their manifest.
    manifest.update(split_file=os.path.abspath(split_file),
                    split_file_sha256=build_manifest.sha256(split_file))

  def load_splits(report, pool):
    mscoco_train_dataset, mscoco_val_dataset = [
        process(data, captions_file, image_dir, report, pool)
        for data, captions_file, image_dir in captions]
    if split is None:
      # The original im2txt split: train2014 + 85% of val2014 / 5% / 10%.
      val_train, val_dataset, test_dataset = (
          captions_metadata.split_val_images(mscoco_val_dataset))
      return mscoco_train_dataset + val_train, val_dataset, test_dataset
    report["split_merged_entries"] = split[2]
    return karpathy_split.assign(
        mscoco_train_dataset + mscoco_val_dataset, split[0], split[1],
        report)

  return load_splits, num_images, manifest


def _build_with_workers(load_splits, output_dir, word_counts_output_file,
                        train_shards, val_shards, test_shards, min_word_count,
                        num_threads, cache, parallelism, options):
  """_build with its worker processes (or threads), shut down after."""
  # More processes than processors would only add start-up work; the
  # workers' record ranges (and so the shards) still follow num_threads.
  num_processes = min(num_threads, os.cpu_count() or 1)
  pool = None
  if parallelism == "processes" and num_processes > 1:
    log("Workers: %d processes." % num_processes)
    pool = shard_writer.ProcessPool(num_processes)
  else:
    log("Workers: %d threads." % num_threads)
  try:
    return _build(load_splits, output_dir, word_counts_output_file,
                  train_shards, val_shards, test_shards, min_word_count,
                  num_threads, cache, pool, options)
  finally:
    if pool is not None:
      pool.shutdown(cancel_futures=True)


def _build(load_splits, output_dir, word_counts_output_file, train_shards,
           val_shards, test_shards, min_word_count, num_threads, cache, pool,
           options):
  """build() on loaded captions: load_splits(report, pool) gives the
  (train, val, test) image lists; pool is the worker pool (None: threads);
  options: input_format, tokenizer, base_vocab, split_file."""
  report = collections.defaultdict(list)
  train_dataset, val_dataset, test_dataset = load_splits(report, pool)
  split = options["split_file"]
  own_format = options["input_format"] != "mscoco"

  file_io.makedirs(output_dir)

  # Vocabulary from the training captions only.
  log("Creating vocabulary.")
  word_counts, total_words = vocab_builder.create_vocab(
      (c for image in train_dataset for c in image.captions), min_word_count,
      options["base_vocab"])
  log("Total words: %d" % total_words)
  log("Words in vocabulary: %d" % len(word_counts))
  if options["base_vocab"] is not None:
    log("Kept the %d words of the base vocabulary at their ids and appended "
        "%d new words." % (len(options["base_vocab"]),
                           len(word_counts) - len(options["base_vocab"])))
  vocab_dir = os.path.dirname(word_counts_output_file)
  if vocab_dir:
    file_io.makedirs(vocab_dir)
  file_io.write_atomically(word_counts_output_file,
                    word_counts.to_file_contents().encode("utf-8"))
  log("Wrote vocabulary file: %s" % word_counts_output_file)

  cache = cache or image_checks.ImageCache()
  split_stats = collections.OrderedDict()
  for name, dataset, num_shards in (("train", train_dataset, train_shards),
                                    ("val", val_dataset, val_shards),
                                    ("test", test_dataset, test_shards)):
    split_stats[name] = shard_writer.process_dataset(
        name, dataset, word_counts, num_shards, num_threads, output_dir, cache,
        pool)

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
      "duplicate_images": report["duplicate_images"],
      "unsafe_file_names": report["unsafe_file_names"],
      "split": "split file" if split else "original 85/5/10 of val2014",
      "not_in_split_file": report["not_in_split_file"],
      "split_images_not_found": report["split_images_not_found"],
  }
  tokenizer = options["tokenizer"]
  if own_format or not tokenizer.is_default():
    # Only then: MSCOCO's default report stays the original's.
    result.update(tokenizer.description())
  if own_format:
    result.update(input_format=options["input_format"],
                  split="the file's splits; the rest divided by fractions",
                  images=report["images"])
  if options["base_vocab"] is not None:
    result["vocabulary"]["base_words"] = len(options["base_vocab"])
  file_io.write_atomically(os.path.join(output_dir, REPORT_FILENAME),
                    json.dumps(result, indent=2, sort_keys=True,
                               ensure_ascii=False).encode("utf-8"))
  log(text)
  if converted:
    log("%d images converted to RGB JPEG: %s" %
         (len(converted), ", ".join(converted)))
  if report["dropped_captions"]:
    reasons = collections.Counter(
        "longer than the limit" if "more than" in x["reason"] else x["reason"]
        for x in report["dropped_captions"])
    log("%d captions dropped (%s)" % (
        len(report["dropped_captions"]),
        ", ".join("%d %s" % (n, r) for r, n in sorted(reasons.items()))))
  if report["duplicate_images"]:
    log("%d repeated image entries merged (same id and file name)" %
        len(report["duplicate_images"]))
  if report["unsafe_file_names"]:
    log("%d images skipped: file names outside the image directory (%s)" % (
        len(report["unsafe_file_names"]),
        ", ".join(x["file_name"] for x in report["unsafe_file_names"][:5])))
  if report["images_without_captions"]:
    log("%d images have no caption and were left out" %
         len(report["images_without_captions"]))
  if split or own_format:
    log("Split from the %s: %s" % (
        "captions file" if own_format else "split file", ", ".join(
            "%s %d images" % (name, len(dataset)) for name, dataset in (
                ("train", train_dataset), ("val", val_dataset),
                ("test", test_dataset)))))
  if report["split_merged_entries"]:
    log("%d repeated entries of the split file merged"
        % report["split_merged_entries"])
  if report["not_in_split_file"]:
    log("%d images of the captions files are not in the split file and "
        "were left out" % len(report["not_in_split_file"]))
  if report["split_images_not_found"]:
    log("%d images of the split file are not among the captioned images "
        "(not in the captions files, or left out above) and were not "
        "written: e.g. %s" % (
            len(report["split_images_not_found"]),
            ", ".join(str(x["filename"] or x["cocoid"])
                      for x in report["split_images_not_found"][:5])))
  if report["orphan_annotations"]:
    log("%d annotations refer to unknown image ids and were ignored" %
         len(report["orphan_annotations"]))
  log("Report: %s" % os.path.join(output_dir, REPORT_FILENAME))
  return result
