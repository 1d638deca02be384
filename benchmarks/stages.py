#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""The project's stages, timed one by one with its own commands.

  .venv/bin/python benchmarks/stages.py [--work_dir=/tmp/im2txt_stages]
      [--num_train_images=400] [--num_val_images=100]
      [--output=stages.json] [--baseline=benchmarks/stages_baseline.json]

Data: demo scenes in the MSCOCO layout at 640 x 480 with pixel noise (JPEGs
of about the size of photographs; builder_throughput.py's), 400 train2014 +
100 val2014 images. Model: the original's ModelConfig (batch 32, 299 x 299,
Inception v3, LSTM 512), with vocab_size fitted to the data's vocabulary.
Every stage is a subprocess of the project's command line:

  build_original_work
                   original_work_builder.py (the original builder's work,
                   2 threads): the builder's in-run baseline
  build            build_mscoco_data, default settings, --num_threads=2:
                   images/s and the peak memory of its process tree
  phase1_images    train, frozen encoder: median s/step from the log
  cache_features   cache_features: images/s (start-up excluded)
  phase1_features  train --features_file_pattern: median s/step
  phase2           train --train_inception: median s/step, peak memory
  perplexity       evaluate --run_once: examples/s
  run_inference    run_inference, beam 3: s/image
  caption_images   caption_images --batch_size=20: s/image
  evaluator_images / evaluator_features
                   evaluate --run_once of one phase-1 checkpoint, 320
                   examples and caption metrics on 100 images of the train
                   split (whose features are cached), from images and from
                   the cache (--input_file_pattern, and
                   --features_file_pattern): the evaluator's own seconds
                   for the checkpoint (its perplexity and caption metrics
                   log lines), start-up excluded
  caption_features caption_images --features_file_pattern on the train
                   split's cache: s/image

Rates that include a process's start-up are taken as the difference of two
runs of different sizes (so start-up cancels). Time figures are also given
in units of the phase-1-on-images step (the common unit: it is the
Inception forward pass, and a machine-independent yardstick), so runs on
different machines compare. With --baseline (the JSON of an earlier run,
e.g. today's main) each figure gets its speed ratio to that run: > 1 is
faster (or, for memory, smaller).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from im2txt import configuration  # noqa: E402
from im2txt.data import demo_data  # noqa: E402

import builder_throughput  # noqa: E402  (same folder)
import process_stats  # noqa: E402

STEP_LINE = re.compile(r"global step (\d+): loss = \S+ \(([\d.]+) sec/step\)")
WARMUP_STEPS = 3

# Figure -> (unit, higher is better).
UNITS = {
    "build_original_work_images_per_s": ("images/s", True),
    "build_original_work_peak_mb": ("MB", False),
    "build_images_per_s": ("images/s", True),
    "build_peak_mb": ("MB", False),
    "phase1_images_s_per_step": ("s/step", False),
    "cache_features_images_per_s": ("images/s", True),
    "phase1_features_s_per_step": ("s/step", False),
    "phase2_s_per_step": ("s/step", False),
    "phase2_peak_mb": ("MB", False),
    "perplexity_examples_per_s": ("examples/s", True),
    "run_inference_s_per_image": ("s/image", False),
    "caption_images_s_per_image": ("s/image", False),
    "evaluator_images_s_per_checkpoint": ("s/checkpoint", False),
    "evaluator_features_s_per_checkpoint": ("s/checkpoint", False),
    "caption_features_s_per_image": ("s/image", False),
}
PERPLEXITY_LINE = re.compile(r"Perplexity = \S+ \(([\d.e+-]+) sec\)")
CAPTION_METRICS_LINE = re.compile(
    r"Caption metrics at global step \d+ on \d+ images \(([\d.]+) s")


def run(module, *args):
  """Runs `python -m module args`; returns (seconds, peak tree MB, output)."""
  return process_stats.run_module(module, *args)


def median_step(output):
  """Median s/step of the training log's step lines after the warm-up."""
  times = [float(m.group(2)) for m in STEP_LINE.finditer(output)]
  if len(times) <= WARMUP_STEPS:
    sys.exit("too few step lines in the training log:\n" + output[-3000:])
  return statistics.median(times[WARMUP_STEPS:])


def tf_train_latest(train_dir):
  """The latest checkpoint prefix of train_dir, from its index file."""
  with open(os.path.join(train_dir, "checkpoint")) as f:
    match = re.search(r'^model_checkpoint_path: "(.*)"', f.read(), re.M)
  return os.path.join(train_dir, match.group(1))


def make_data(work, num_train, num_val):
  """The noisy 640 x 480 demo images (made once per work_dir); returns the
  builder's image and captions paths and the records folder."""
  raw, data = os.path.join(work, "raw-data"), os.path.join(work, "data")
  if not os.path.exists(os.path.join(raw, "done")):
    shutil.rmtree(raw, ignore_errors=True)
    paths = demo_data.generate(raw, num_train_images=num_train,
                               num_val_images=num_val, image_size=(640, 480),
                               seed=1)
    rng = np.random.default_rng(0)
    for key in ("train_image_dir", "val_image_dir"):
      builder_throughput._add_noise(paths[key], rng)  # pylint: disable=protected-access
    with open(os.path.join(raw, "done"), "w") as f:
      json.dump(paths, f)
  with open(os.path.join(raw, "done")) as f:
    return json.load(f), data


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/im2txt_stages")
  parser.add_argument("--num_train_images", type=int, default=400)
  parser.add_argument("--num_val_images", type=int, default=100)
  parser.add_argument("--phase1_steps", type=int, default=12)
  parser.add_argument("--feature_steps", type=int, default=200)
  parser.add_argument("--phase2_steps", type=int, default=8)
  parser.add_argument("--output", default="")
  parser.add_argument("--baseline", default="")
  args = parser.parse_args()
  work = os.path.abspath(args.work_dir)
  os.makedirs(work, exist_ok=True)
  paths, data = make_data(work, args.num_train_images, args.num_val_images)
  figures = {}

  # The builder, default settings, two workers; and the original
  # builder's work on the same data (the in-run baseline of the builder).
  for prefix, command in (
      ("build_original_work", [os.path.join(HERE,
                                            "original_work_builder.py")]),
      ("build", ["-m", "im2txt.data.build_mscoco_data"])):
    shutil.rmtree(data, ignore_errors=True)
    seconds, peak, _ = process_stats.run(
        [sys.executable] + command + [
            "--output_dir=" + data, "--word_counts_output_file=" +
            os.path.join(data, "word_counts.txt"), "--train_shards=4",
            "--val_shards=1", "--test_shards=1", "--num_threads=2"] +
        ["--%s=%s" % kv for kv in sorted(paths.items())])
    with open(os.path.join(data, "build_report.json")) as f:
      report = json.load(f)
    images = sum(s["images"] for s in report["splits"].values())
    figures[prefix + "_images_per_s"] = images / seconds
    figures[prefix + "_peak_mb"] = peak

  config = configuration.ModelConfig()
  with open(os.path.join(data, "word_counts.txt")) as f:
    config.vocab_size = sum(1 for line in f if line.strip()) + 1
  config_file = os.path.join(work, "model_config.json")
  with open(config_file, "w") as f:
    f.write(config.to_json_string())
  train = os.path.join(work, "train")
  shutil.rmtree(train, ignore_errors=True)
  records = os.path.join(data, "train-?????-of-00004")
  common = ["--train_dir=" + train, "--model_config_file=" + config_file,
            "--log_every_n_steps=1", "--save_summaries_secs=100000",
            "--save_interval_secs=100000"]

  step = args.phase1_steps
  _, _, out = run("im2txt.train", "--input_file_pattern=" + records,
                  "--number_of_steps=%d" % step, *common)
  figures["phase1_images_s_per_step"] = median_step(out)

  features = os.path.join(data, "features")
  timings = []
  for limit in (0, 1):
    shutil.rmtree(features, ignore_errors=True)
    # A second, smaller run: start-up and the model's load cancel out.
    pattern = records if limit == 0 else os.path.join(
        data, "train-00000-of-00004")
    seconds, _, out = run("im2txt.cache_features",
                          "--input_file_pattern=" + pattern,
                          "--output_dir=" + features,
                          "--checkpoint_path=" + train)
    count = int(re.search(r"(\d+) images, \d+ captions encoded",
                          out).group(1))
    timings.append((seconds, count))
  t_all, n_all = timings[0]
  t_one, n_one = timings[1]
  figures["cache_features_images_per_s"] = (n_all - n_one) / (t_all - t_one)
  shutil.rmtree(features, ignore_errors=True)
  run("im2txt.cache_features", "--input_file_pattern=" + records,
      "--output_dir=" + features, "--checkpoint_path=" + train)

  step += args.feature_steps
  _, _, out = run("im2txt.train", "--features_file_pattern=" + os.path.join(
      features, "features-train-?????-of-00004"),
                  "--number_of_steps=%d" % step, *common)
  figures["phase1_features_s_per_step"] = median_step(out)

  # A phase-1 checkpoint alone, for the evaluator from images and features.
  phase1 = os.path.join(work, "phase1")
  shutil.rmtree(phase1, ignore_errors=True)
  os.makedirs(phase1)
  latest = os.path.basename(tf_train_latest(train))
  for name in os.listdir(train):
    if name.startswith(latest + ".") or name == "model_config.json":
      shutil.copy(os.path.join(train, name), phase1)
  with open(os.path.join(phase1, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n'
            % (latest, latest))

  step += args.phase2_steps
  _, peak, out = run("im2txt.train", "--input_file_pattern=" + records,
                     "--train_inception", "--number_of_steps=%d" % step,
                     *common)
  figures["phase2_s_per_step"] = median_step(out)
  figures["phase2_peak_mb"] = peak

  val = os.path.join(data, "val-?????-of-00001")
  timings = []
  for examples in (32, 320):
    eval_dir = os.path.join(work, "eval_%d" % examples)
    shutil.rmtree(eval_dir, ignore_errors=True)
    seconds, _, _ = run("im2txt.evaluate", "--input_file_pattern=" + val,
                        "--checkpoint_dir=" + train, "--eval_dir=" + eval_dir,
                        "--num_eval_examples=%d" % examples, "--run_once",
                        "--min_global_step=1")
    timings.append(seconds)
  figures["perplexity_examples_per_s"] = 288 / (timings[1] - timings[0])

  val_images = sorted(os.listdir(paths["val_image_dir"]))
  files = [os.path.join(paths["val_image_dir"], n) for n in val_images]
  vocab = "--vocab_file=" + os.path.join(data, "word_counts.txt")
  timings = []
  for count in (1, 11):
    seconds, _, _ = run("im2txt.run_inference", "--checkpoint_path=" + train,
                        vocab, "--input_files=" + ",".join(files[:count]))
    timings.append(seconds)
  figures["run_inference_s_per_image"] = (timings[1] - timings[0]) / 10
  timings = []
  for count in (20, 100):
    seconds, _, _ = run("im2txt.caption_images", "--checkpoint_path=" + train,
                        vocab, "--input_files=" + ",".join(files[:count]),
                        "--batch_size=20", "--output_file=" + os.path.join(
                            work, "captions_%d.json" % count))
    timings.append(seconds)
  figures["caption_images_s_per_image"] = (timings[1] - timings[0]) / 80

  # The evaluator per phase-1 checkpoint, from images and from features,
  # on the train split (its features are cached; the val split has 5
  # images).
  for name, extra in (
      ("evaluator_images", []),
      ("evaluator_features", ["--features_file_pattern=" + os.path.join(
          features, "features-train-?????-of-00004")])):
    eval_dir = os.path.join(work, "eval_" + name)
    shutil.rmtree(eval_dir, ignore_errors=True)
    _, _, out = run("im2txt.evaluate", "--input_file_pattern=" + records,
                    "--checkpoint_dir=" + phase1, "--eval_dir=" + eval_dir,
                    "--num_eval_examples=320", "--run_once",
                    "--min_global_step=1", "--num_caption_eval_images=100",
                    vocab, *extra)
    figures[name + "_s_per_checkpoint"] = (
        float(PERPLEXITY_LINE.search(out).group(1)) +
        float(CAPTION_METRICS_LINE.search(out).group(1)))
  timings = []
  for count in (20, 100):
    seconds, _, _ = run(
        "im2txt.caption_images", "--checkpoint_path=" + phase1, vocab,
        "--features_file_pattern=" + os.path.join(
            features, "features-train-?????-of-00004"),
        "--max_images=%d" % count, "--batch_size=20",
        "--output_file=" + os.path.join(work, "features_%d.json" % count))
    timings.append(seconds)
  figures["caption_features_s_per_image"] = (timings[1] - timings[0]) / 80

  unit = figures["phase1_images_s_per_step"]
  result = {"machine": "%s, %d CPUs, Python %s" % (
      platform.processor() or platform.machine(), os.cpu_count(),
      platform.python_version()), "figures": figures}
  baseline = {}
  if args.baseline:
    with open(args.baseline) as f:
      baseline = json.load(f)["figures"]
  print("machine: " + result["machine"])
  print()
  print("| stage | figure | in phase-1 steps | vs baseline |")
  print("|---|---|---|---|")
  for name, value in figures.items():
    label, higher_better = UNITS[name]
    in_steps = ""
    if label.startswith("s/"):
      in_steps = "%.3f" % (value / unit)
    elif label.endswith("/s"):
      in_steps = "%.3f" % (1.0 / value / unit)
    ratio = ""
    if name in baseline:
      ratio = "%.2fx" % ((value / baseline[name]) if higher_better
                         else (baseline[name] / value))
    print("| %s | %.4g %s | %s | %s |" % (name, value, label, in_steps, ratio))
  print()
  print("builder vs the original's work, same run: %.2fx the images/s, "
        "%.2fx the peak memory" % (
            figures["build_images_per_s"] /
            figures["build_original_work_images_per_s"],
            figures["build_peak_mb"] / figures["build_original_work_peak_mb"]))
  print("evaluator per phase-1 checkpoint, same run: %.1fx faster from "
        "cached features; caption_images from features %.1fx run_inference's "
        "s/image" % (
            figures["evaluator_images_s_per_checkpoint"] /
            figures["evaluator_features_s_per_checkpoint"],
            figures["run_inference_s_per_image"] /
            figures["caption_features_s_per_image"]))
  if args.output:
    with open(args.output, "w") as f:
      json.dump(result, f, indent=2, sort_keys=True)


if __name__ == "__main__":
  main()
