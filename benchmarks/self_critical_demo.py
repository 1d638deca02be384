#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Test-split CIDEr before and after self-critical training, on demo data.

  .venv/bin/python benchmarks/self_critical_demo.py [--work_dir=/tmp/scst]
      [--phase1_feature_steps=6000] [--self_critical_steps=1000]
      [--learning_rate=...]

The project's own commands, as `make demo` runs them: demo data (1200 train
/ 300 val images), records, phase 1 on images (100 steps), cached features,
phase 1 from features; then, from that phase-1 checkpoint:

  before   caption_images on the test split + score_captions;
  after    train --self_critical from the cached features for
           --self_critical_steps steps (references: the train records),
           then the same captioning and scoring.

Prints BLEU-4 and CIDEr before and after, and the self-critical phase's
wall time and seconds per step. Reuses --work_dir's data and phase-1
checkpoint when they exist (the self-critical run always starts afresh
from a copy of the phase-1 train_dir).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
CONFIG = os.path.join(ROOT, "data", "demo", "model_config.json")


def _run(module, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  result = subprocess.run([sys.executable, "-m", module] + list(args),
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
  if result.returncode:
    sys.exit("%s failed:\n%s" % (module, result.stdout[-4000:]))
  return result.stdout


def _prepare(work, feature_steps):
  raw, data = os.path.join(work, "raw-data"), os.path.join(work, "data")
  train = os.path.join(work, "phase1")
  records = os.path.join(data, "train-?????-of-00004")
  if not os.path.exists(os.path.join(data, "word_counts.txt")):
    _run("im2txt.data.make_demo_data", "--output_dir=" + raw,
         "--num_train_images=1200", "--num_val_images=300")
    _run("im2txt.data.build_mscoco_data",
         "--train_image_dir=" + os.path.join(raw, "train2014"),
         "--val_image_dir=" + os.path.join(raw, "val2014"),
         "--train_captions_file=" + os.path.join(
             raw, "annotations", "captions_train2014.json"),
         "--val_captions_file=" + os.path.join(
             raw, "annotations", "captions_val2014.json"),
         "--output_dir=" + data,
         "--word_counts_output_file=" + os.path.join(data,
                                                     "word_counts.txt"),
         "--train_shards=4", "--val_shards=1", "--test_shards=1",
         "--num_threads=2", "--parallelism=threads")
  target = 100 + feature_steps
  if not os.path.exists(os.path.join(train, "model.ckpt-%d.index" % target)):
    _run("im2txt.train", "--input_file_pattern=" + records,
         "--train_dir=" + train, "--model_config_file=" + CONFIG,
         "--number_of_steps=100", "--log_every_n_steps=50")
    _run("im2txt.cache_features", "--input_file_pattern=" + records,
         "--output_dir=" + os.path.join(data, "features"),
         "--checkpoint_path=" + train, "--num_crops=1")
    _run("im2txt.train", "--features_file_pattern=" + os.path.join(
        data, "features", "features-train-?????-of-00004"),
         "--train_dir=" + train, "--model_config_file=" + CONFIG,
         "--number_of_steps=%d" % target, "--log_every_n_steps=1000")
  return data, train, records, target


def _score(work, data, checkpoint, name):
  results = os.path.join(work, name + "_captions.json")
  _run("im2txt.caption_images", "--checkpoint_path=" + checkpoint,
       "--vocab_file=" + os.path.join(data, "word_counts.txt"),
       "--input_file_pattern=" + os.path.join(data, "test-?????-of-00001"),
       "--output_file=" + results)
  metrics = os.path.join(work, name + "_metrics.json")
  _run("im2txt.score_captions", "--results_file=" + results,
       "--reference_file_pattern=" + os.path.join(data,
                                                  "test-?????-of-00001"),
       "--output_file=" + metrics)
  return json.load(open(metrics))["models"][0]["scores"]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/im2txt_self_critical")
  parser.add_argument("--phase1_feature_steps", type=int, default=6000)
  parser.add_argument("--self_critical_steps", type=int, default=1000)
  parser.add_argument("--learning_rate", type=float, default=None,
                      help="self_critical_learning_rate (default: the "
                      "TrainingConfig's)")
  args = parser.parse_args()
  work = os.path.abspath(args.work_dir)
  os.makedirs(work, exist_ok=True)
  data, phase1, records, start_step = _prepare(work,
                                               args.phase1_feature_steps)
  before = _score(work, data, phase1, "before")

  train = os.path.join(work, "self_critical")
  shutil.rmtree(train, ignore_errors=True)
  shutil.copytree(phase1, train)
  with open(os.path.join(train, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "model.ckpt-%d"\n' % start_step)
  extra = []
  if args.learning_rate is not None:
    config_file = os.path.join(work, "training_config.json")
    with open(config_file, "w") as f:
      json.dump({"self_critical_learning_rate": args.learning_rate}, f)
    extra.append("--training_config_file=" + config_file)
  start = time.perf_counter()
  _run("im2txt.train", "--self_critical",
       "--features_file_pattern=" + os.path.join(
           data, "features", "features-train-?????-of-00004"),
       "--self_critical_references=" + records,
       "--vocab_file=" + os.path.join(data, "word_counts.txt"),
       "--train_dir=" + train, "--model_config_file=" + CONFIG,
       "--number_of_steps=%d" % (start_step + args.self_critical_steps),
       "--log_every_n_steps=100", "--save_summaries_secs=5", *extra)
  seconds = time.perf_counter() - start
  after = _score(work, data, train, "after")

  print("phase 1 to step %d; self-critical %d steps (batch 32, features) in "
        "%.1f s (%.3f s/step incl. start-up and reading the references)"
        % (start_step, args.self_critical_steps, seconds,
           seconds / args.self_critical_steps))
  for metric in ("Bleu_4", "CIDEr"):
    print("%-7s before %.3f  after %.3f  (%+.3f)" % (
        metric, before[metric], after[metric],
        after[metric] - before[metric]))


if __name__ == "__main__":
  main()
