#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""Throughput and memory of the MSCOCO builder (build_mscoco_data).

Draws demo scenes at MSCOCO-like size (640 x 480) with per-pixel noise, so
that the JPEGs cost about as much to decode as photographs (~150 KB), then
runs the builder's command line on them, each configuration as its own
process (start-up and imports included, as a user sees it), and measures
the wall time and the peak resident memory of its whole process tree:

  original work   original_work_builder.py: 2 threads doing what the
                  original builder does (TensorFlow imported, every image
                  decoded by TensorFlow once per caption, tf.train protocol
                  buffers); the baseline of the ratios
  default         build_mscoco_data --num_threads=2, nothing else
  threads         --parallelism=threads
  processes       --parallelism=processes

Each configuration runs --repeats times, interleaved, into a fresh output
folder; the table gives medians. The images are made once per --work_dir.

  python3 benchmarks/builder_throughput.py [--num_images=500] [--repeats=3]
      [--work_dir=/tmp/im2txt_builder_bench]
"""

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
sys.path.insert(0, HERE)

from im2txt.data import demo_data  # noqa: E402

import process_stats  # noqa: E402  (same folder)

CONFIGURATIONS = (
    ("original work", [os.path.join(HERE, "original_work_builder.py")]),
    ("default", ["-m", "im2txt.data.build_mscoco_data"]),
    ("threads", ["-m", "im2txt.data.build_mscoco_data",
                 "--parallelism=threads"]),
    ("processes", ["-m", "im2txt.data.build_mscoco_data",
                   "--parallelism=processes"]),
)


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


def make_images(work_dir, num_images):
  """The noisy 640 x 480 demo images in the MSCOCO layout (made once per
  work_dir, train2014 : val2014 = 4 : 1); returns the builder's paths."""
  raw = os.path.join(work_dir, "raw-data-%d" % num_images)
  done = os.path.join(raw, "done.txt")
  paths = {}
  if os.path.exists(done):
    with open(done) as f:
      return dict(line.rstrip("\n").split("=", 1) for line in f)
  shutil.rmtree(raw, ignore_errors=True)
  paths = demo_data.generate(raw, num_train_images=num_images * 4 // 5,
                             num_val_images=num_images - num_images * 4 // 5,
                             image_size=(640, 480), seed=1)
  rng = np.random.default_rng(0)
  for key in ("train_image_dir", "val_image_dir"):
    _add_noise(paths[key], rng)
  with open(done, "w") as f:
    f.writelines("%s=%s\n" % kv for kv in sorted(paths.items()))
  return paths


def time_build(command, paths, out, num_threads=2):
  """Runs one builder command into a fresh `out`.

  Returns:
    (seconds, peak tree MB, images in the splits).
  """
  shutil.rmtree(out, ignore_errors=True)
  seconds, peak, _ = process_stats.run(
      [sys.executable] + command + [
          "--output_dir=" + out,
          "--word_counts_output_file=" + os.path.join(out, "word_counts.txt"),
          "--train_shards=4", "--val_shards=2", "--test_shards=2",
          "--num_threads=%d" % num_threads] + [
              "--%s=%s" % kv for kv in sorted(paths.items())])
  with open(os.path.join(out, "build_report.json")) as f:
    report = json.load(f)
  images = sum(s["images"] for s in report["splits"].values())
  shutil.rmtree(out)
  return seconds, peak, images


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  parser.add_argument("--num_images", type=int, default=500,
                      help="images in all (train2014 : val2014 = 4 : 1)")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--work_dir", default="/tmp/im2txt_builder_bench")
  parser.add_argument("--configurations", default="",
                      help="comma-separated labels to run (default all)")
  args = parser.parse_args()

  os.makedirs(args.work_dir, exist_ok=True)
  paths = make_images(args.work_dir, args.num_images)
  sizes = [os.path.getsize(os.path.join(paths["train_image_dir"], n))
           for n in os.listdir(paths["train_image_dir"])]
  print("machine: %s, %d CPUs, Python %s" % (
      platform.processor() or platform.machine(), os.cpu_count(),
      platform.python_version()))
  print("data: %d images of 640x480, median JPEG %.0f KB" % (
      args.num_images, statistics.median(sizes) / 1024))
  wanted = [c for c in CONFIGURATIONS if not args.configurations or
            c[0] in args.configurations.split(",")]
  times = {label: [] for label, _ in wanted}
  peaks = {label: [] for label, _ in wanted}
  images = 0
  for _ in range(args.repeats):  # Interleaved: the machine's noise is shared.
    for label, command in wanted:
      seconds, peak, images = time_build(
          command, paths, os.path.join(args.work_dir, "out"))
      times[label].append(seconds)
      peaks[label].append(peak)
      print("  %s: %.2f s, %.0f MB" % (label, seconds, peak), flush=True)

  base = wanted[0][0]
  base_s, base_mb = (statistics.median(times[base]),
                     statistics.median(peaks[base]))
  print()
  print("| builder | median s | images/s | peak MB (tree) | speed vs %s | "
        "memory vs %s |" % (base, base))
  print("|---|---|---|---|---|---|")
  for label, _ in wanted:
    median, peak = statistics.median(times[label]), statistics.median(
        peaks[label])
    print("| %s | %.2f | %.1f | %.0f | %.2fx | %.2fx |" % (
        label, median, images / median, peak, base_s / median,
        peak / base_mb))


if __name__ == "__main__":
  main()
