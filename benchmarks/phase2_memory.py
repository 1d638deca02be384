#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Phase 2 as the train command runs it: step time and the process's peak.

  .venv/bin/python benchmarks/phase2_memory.py [--work_dir=/tmp/im2txt_stages]
      [--settings=original_kernels,default,recompute_encoder] [--steps=6]
      [--repeats=2] [--output=phase2.json]

Uses stages.py's data (400 noisy 640 x 480 images in the MSCOCO layout,
built with the builder; made here if missing) and a phase-1 checkpoint of
the original's ModelConfig (trained here for 2 steps if stages.py left
none). Each run copies that checkpoint into a new train_dir and runs
`train --train_inception` for --steps steps as its own process: the
median s/step of the log after the first 3 steps, and the peak resident
memory of the process tree (input queues, the Supervisor and the step,
as a user's run has them). Settings, interleaved over --repeats rounds:

  original_kernels  TF_ENABLE_ONEDNN_OPTS=0, glibc's own malloc arenas
                    (MALLOC_ARENA_MAX=8 per core) and the Supervisor's
                    summary thread (--nosummaries_in_train_step):
                    TensorFlow's own kernels on this CPU, i.e. the
                    original's step (the same graph) in the original's
                    process; the baseline of the ratios
  default           train's defaults (oneDNN kernels, 2 malloc arenas,
                    summaries computed in the training step)
  default_summary_thread
                    the same with the original's summary thread
  default_glibc_arenas
                    the same with glibc's own arenas
  recompute_encoder train --recompute_encoder (the whole encoder)
  recompute_segments
                    train --recompute_encoder
                    --recompute_encoder_blocks=stem,Mixed_5b,Mixed_5c,Mixed_5d
"""

import argparse
import json
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
sys.path.insert(0, HERE)

from im2txt import configuration  # noqa: E402

import process_stats  # noqa: E402  (same folder)
import stages  # noqa: E402

# glibc's own cap on malloc arenas (8 per core): what the original runs
# with; train caps them at 2 unless MALLOC_ARENA_MAX is set.
GLIBC_ARENAS = {"MALLOC_ARENA_MAX": str(8 * (os.cpu_count() or 1))}
SEGMENTS = "stem,Mixed_5b,Mixed_5c,Mixed_5d"

SETTINGS = {
    "original_kernels": (dict(GLIBC_ARENAS, TF_ENABLE_ONEDNN_OPTS="0"),
                         ["--nosummaries_in_train_step"]),
    "default": ({}, []),
    "default_summary_thread": ({}, ["--nosummaries_in_train_step"]),
    "default_glibc_arenas": (GLIBC_ARENAS, []),
    "recompute_encoder": ({}, ["--recompute_encoder"]),
    "recompute_segments": ({}, ["--recompute_encoder",
                                "--recompute_encoder_blocks=" + SEGMENTS]),
}


def prepare(work, batch_size):
  """Records, a model config and a phase-1 checkpoint; returns (records
  pattern, config file, phase-1 train dir)."""
  paths, data = stages.make_data(work, 400, 100)
  if not os.path.exists(os.path.join(data, "word_counts.txt")):
    process_stats.run(
        [sys.executable, "-m", "im2txt.data.build_mscoco_data",
         "--output_dir=" + data,
         "--word_counts_output_file=" + os.path.join(data, "word_counts.txt"),
         "--train_shards=4", "--val_shards=1", "--test_shards=1",
         "--num_threads=2"] + ["--%s=%s" % kv for kv in sorted(paths.items())])
  config = configuration.ModelConfig()
  config.batch_size = batch_size
  with open(os.path.join(data, "word_counts.txt")) as f:
    config.vocab_size = sum(1 for line in f if line.strip()) + 1
  config_file = os.path.join(work, "phase2_model_config_%d.json" % batch_size)
  with open(config_file, "w") as f:
    f.write(config.to_json_string())
  records = os.path.join(data, "train-?????-of-00004")
  phase1 = os.path.join(work, "phase2_start_%d" % batch_size)
  if not os.path.exists(os.path.join(phase1, "checkpoint")):
    shutil.rmtree(phase1, ignore_errors=True)
    _, _, out = process_stats.run_module(
        "im2txt.train", "--input_file_pattern=" + records,
        "--train_dir=" + phase1, "--model_config_file=" + config_file,
        "--number_of_steps=2", "--log_every_n_steps=1")
    if not os.path.exists(os.path.join(phase1, "checkpoint")):
      sys.exit("phase 1 failed:\n" + out[-3000:])
  return records, config_file, phase1


def run_phase2(setting, records, config_file, phase1, steps, work):
  """One train --train_inception run; returns (s/step, peak MB)."""
  env, flags = SETTINGS[setting]
  train_dir = os.path.join(work, "phase2_run")
  shutil.rmtree(train_dir, ignore_errors=True)
  shutil.copytree(phase1, train_dir)
  start = int(stages.tf_train_latest(train_dir).rsplit("-", 1)[1])
  _, peak, out = process_stats.run_module(
      "im2txt.train", "--input_file_pattern=" + records,
      "--train_dir=" + train_dir, "--model_config_file=" + config_file,
      "--train_inception", "--number_of_steps=%d" % (start + steps),
      "--log_every_n_steps=1", "--save_summaries_secs=100000",
      "--save_interval_secs=100000", *flags, env=env)
  return stages.median_step(out), peak


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/im2txt_stages")
  parser.add_argument("--settings",
                      default="original_kernels,default,recompute_encoder,"
                      "recompute_segments,default_glibc_arenas")
  parser.add_argument("--steps", type=int, default=6)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--output", default="")
  args = parser.parse_args()
  work = os.path.abspath(args.work_dir)
  os.makedirs(work, exist_ok=True)
  records, config_file, phase1 = prepare(work, args.batch_size)
  settings = args.settings.split(",")
  results = {s: [] for s in settings}
  for _ in range(args.repeats):
    for setting in settings:
      step, peak = run_phase2(setting, records, config_file, phase1,
                              args.steps, work)
      results[setting].append({"s_per_step": step, "peak_mb": peak})
      print("  %s: %.3f s/step, %.0f MB" % (setting, step, peak), flush=True)
  print("| setting | s/step | peak MB | speed vs %s | memory vs %s |" % (
      settings[0], settings[0]))
  print("|---|---|---|---|---|")
  base = None
  summary = {}
  for setting in settings:
    step = statistics.median(r["s_per_step"] for r in results[setting])
    peak = statistics.median(r["peak_mb"] for r in results[setting])
    base = base or (step, peak)
    summary[setting] = {"s_per_step": step, "peak_mb": peak,
                        "speed_ratio": base[0] / step,
                        "memory_ratio": peak / base[1]}
    print("| %s | %.3f | %.0f | %.2fx | %.2fx |" % (
        setting, step, peak, base[0] / step, peak / base[1]))
  if args.output:
    with open(args.output, "w") as f:
      json.dump({"batch_size": args.batch_size, "steps": args.steps,
                 "runs": results, "summary": summary}, f, indent=1)


if __name__ == "__main__":
  main()
