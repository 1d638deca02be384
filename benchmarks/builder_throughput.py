#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""Throughput of the MSCOCO builder (build_mscoco_data) on demo data.

Draws demo scenes at MSCOCO-like size (640 x 480) with per-pixel noise, so
that the JPEGs cost about as much to decode as photographs (~100-200 KB),
then times the builder end to end at 1 and 2 threads, with 2 worker
processes (--parallelism=processes, their start-up included), and once more
with the image cache disabled (decoding every image once per caption, as
the original builder does). Each configuration runs --repeats times into a
fresh output folder; the table gives the median.

  python3 benchmarks/builder_throughput.py [--num_images=300] [--repeats=3]
      [--skip_no_cache]
"""

import argparse
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

from im2txt.data import image_checks  # noqa: E402
from im2txt.data import mscoco_builder  # noqa: E402
from im2txt.data import demo_data  # noqa: E402


class _NoCache(image_checks.ImageCache):
  """Decodes every image once per caption (the original builder's work)."""

  def load(self, filename, decoder):
    with open(filename, "rb") as f:
      return decoder.prepare(f.read())


def _add_noise(image_dir, rng):
  for name in os.listdir(image_dir):
    path = os.path.join(image_dir, name)
    pixels = np.asarray(Image.open(path), dtype=np.int16)
    pixels = pixels + rng.integers(-40, 41, size=pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        buffer, "JPEG", quality=90)
    with open(path, "wb") as f:
      f.write(buffer.getvalue())


def _time_build(paths, root, num_threads, cache, parallelism="threads"):
  """Runs the builder into a fresh folder; returns (seconds, report)."""
  out = tempfile.mkdtemp(dir=root)
  devnull = open(os.devnull, "w")
  stdout, sys.stdout = sys.stdout, devnull
  start = time.perf_counter()
  try:
    # Shard counts divisible by both thread counts.
    report = mscoco_builder.build(
        output_dir=out, word_counts_output_file=os.path.join(out, "wc.txt"),
        train_shards=4, val_shards=2, test_shards=2, num_threads=num_threads,
        cache=cache, parallelism=parallelism, **paths)
  finally:
    elapsed = time.perf_counter() - start
    sys.stdout = stdout
    devnull.close()
  shutil.rmtree(out)
  return elapsed, report


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  parser.add_argument("--num_images", type=int, default=300,
                      help="images in all (train2014 : val2014 = 2 : 1)")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--skip_no_cache", action="store_true",
                      help="leave out the slow no-cache row")
  args = parser.parse_args()

  root = tempfile.mkdtemp(prefix="im2txt_builder_bench_")
  try:
    paths = demo_data.generate(os.path.join(root, "raw"),
                               num_train_images=args.num_images * 2 // 3,
                               num_val_images=args.num_images // 3,
                               image_size=(640, 480), seed=1)
    rng = np.random.default_rng(0)
    for key in ("train_image_dir", "val_image_dir"):
      _add_noise(paths[key], rng)
    sizes = [os.path.getsize(os.path.join(paths["train_image_dir"], n))
             for n in os.listdir(paths["train_image_dir"])]
    print("machine: %s, %d CPUs, Python %s" % (
        platform.processor() or platform.machine(), os.cpu_count(),
        platform.python_version()))
    print("data: %d images of 640x480, median JPEG %.0f KB" % (
        args.num_images, statistics.median(sizes) / 1024))

    rows = []
    for label, threads, parallelism, cache in (
        ("1 thread", 1, "threads", None),
        ("2 threads", 2, "threads", None),
        ("2 processes", 2, "processes", None),
        ("2 threads, no image cache", 2, "threads", "none")):
      if cache == "none" and args.skip_no_cache:
        continue
      times = []
      report = None
      for _ in range(args.repeats):
        elapsed, report = _time_build(
            paths, root, threads, _NoCache() if cache == "none" else None,
            parallelism)
        times.append(elapsed)
      pairs = sum(s["pairs_written"] for s in report["splits"].values())
      images = sum(s["images"] for s in report["splits"].values())
      median = statistics.median(times)
      rows.append((label, median, images / median, pairs / median))

    base = rows[0][1]
    print()
    print("| builder | median s | images/s | pairs/s | speed vs 1 thread |")
    print("|---|---|---|---|---|")
    for label, median, ips, pps in rows:
      print("| %s | %.2f | %.1f | %.1f | %.2fx |" % (label, median, ips, pps,
                                                   base / median))
  finally:
    shutil.rmtree(root)


if __name__ == "__main__":
  main()
