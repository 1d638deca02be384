#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Training-step time and peak memory under TensorFlow runtime settings.

  .venv/bin/python benchmarks/step_settings.py [--repeats=2] [--steps=6]
      [--settings=onednn_off,onednn_on] [--stages=phase1,forward,phase2]
      [--batch_size=32]

The step of the original's model (ModelConfig defaults: batch 32,
299 x 299, Inception v3, LSTM 512, vocabulary 12,000) fed one fixed random
batch from memory, so that only the step's computation is timed:

  phase1   a training step with the encoder frozen (the Inception forward
           pass in inference mode, the decoder's forward and backward)
  forward  the same graph's loss alone: the forward pass that perplexity
           evaluation runs per batch
  phase2   a training step that fine-tunes the encoder (--train_inception)

Each (setting, stage) runs in a fresh process (TensorFlow reads most of
these settings at import), interleaved over --repeats rounds. Reported:
the median s/step after two warm-up steps, the process's peak resident
memory (ru_maxrss) and the ratios to the first setting. Settings:

  onednn_off  TF_ENABLE_ONEDNN_OPTS=0 (TensorFlow's default on CPUs without
              AVX-512 VNNI, such as the AVX2 machines of this project)
  onednn_on   TF_ENABLE_ONEDNN_OPTS=1 (oneDNN kernels for convolutions,
              matrix products, batch norm)
  default     whatever the environment and the im2txt package choose
  xla         onednn_off plus XLA auto-clustering (global_jit_level ON_1)
  recompute   onednn_off plus Grappler's recomputation heuristics
  recompute_encoder
              onednn_on plus what train --recompute_encoder does: Grappler's
              manual recomputation (ops marked _recompute_hint) of the
              encoder, by default every forward op as one whole
  recompute_whole
              the same, named explicitly (--recompute_encoder_blocks=whole)
  recompute_eigen
              onednn_off plus train --recompute_encoder: with TensorFlow's
              own kernels the optimizer also recomputes batch norm and ReLU,
              which it leaves stored under oneDNN's rewrites (only the
              convolutions and pools are recomputed there)
  recompute_blocks=SEGMENTS
              the same, with train's --recompute_encoder_blocks=SEGMENTS
              (e.g. recompute_blocks=stem; commas in SEGMENTS are written
              ';' in --settings)
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir)

SETTINGS = {
    "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn_on": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "default": {},
    "xla": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "recompute": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "recompute_encoder": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "recompute_whole": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "recompute_blocks": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "recompute_eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}


def measure(setting, stage, steps, batch_size):
  """In this process: builds the step and times it. Prints a JSON line."""
  import resource  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, ROOT)
  from im2txt import tf_compat  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-import-not-at-top
  from im2txt import configuration  # pylint: disable=g-import-not-at-top
  from im2txt.training import builder  # pylint: disable=g-import-not-at-top
  from im2txt.ops import model_inputs  # pylint: disable=g-import-not-at-top

  config = configuration.ModelConfig()
  config.batch_size = batch_size
  rng = np.random.RandomState(0)
  size = config.image_height
  length = 14

  def batch_fn(unused_clone):
    return model_inputs.InputBatch(
        images=tf.constant(rng.uniform(-1, 1, size=(
            batch_size, size, size, 3)).astype(np.float32)),
        image_features=None,
        input_seqs=tf.constant(rng.randint(
            1, config.vocab_size, size=(batch_size, length)), tf.int64),
        target_seqs=tf.constant(rng.randint(
            1, config.vocab_size, size=(batch_size, length)), tf.int64),
        input_mask=tf.ones([batch_size, length], tf.int32))

  built = builder.build_training_graph(
      config, configuration.TrainingConfig(), stage == "phase2",
      clone_batches=batch_fn)
  session_config = tf.ConfigProto()
  if setting == "xla":
    session_config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
  elif setting == "recompute":
    session_config.graph_options.rewrite_options.memory_optimization = (
        rewriter_config_pb2.RewriterConfig.RECOMPUTATION_HEURISTICS)
  elif setting.startswith("recompute_"):
    from im2txt.training import recompute  # pylint: disable=g-import-not-at-top
    from im2txt.data import schema  # pylint: disable=g-import-not-at-top
    blocks = {"recompute_encoder": recompute.DEFAULT_BLOCKS,
              "recompute_eigen": recompute.DEFAULT_BLOCKS,
              "recompute_whole": recompute.WHOLE}.get(
                  setting, setting.partition("=")[2])
    recompute.mark_encoder(built.graph, schema.ENCODER_SCOPE,
                           recompute.segments_of(blocks))
    recompute.enable(session_config)
  with built.graph.as_default():
    init = tf.global_variables_initializer()
  fetch = built.total_loss if stage == "forward" else built.train_op
  with tf.Session(graph=built.graph, config=session_config) as sess:
    sess.run(init)
    times = []
    for _ in range(steps + 2):
      start = time.perf_counter()
      sess.run(fetch)
      times.append(time.perf_counter() - start)
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  print("RESULT " + json.dumps({"s_per_step": statistics.median(times[2:]),
                                "peak_mb": peak}))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--settings", default="onednn_off,onednn_on")
  parser.add_argument("--stages", default="phase1,forward,phase2")
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--steps", type=int, default=6)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--_measure", default="", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._measure:  # pylint: disable=protected-access
    setting, stage = args._measure.rsplit(":", 1)  # pylint: disable=protected-access
    setting = setting.replace(";", ",")
    measure(setting, stage, args.steps, args.batch_size)
    return

  settings = args.settings.split(",")
  stages = args.stages.split(",")
  results = {(s, g): [] for s in settings for g in stages}
  for _ in range(args.repeats):
    for stage in stages:
      for setting in settings:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   **SETTINGS[setting.partition("=")[0]])
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__),
             "--_measure=%s:%s" % (setting, stage),
             "--steps=%d" % args.steps, "--batch_size=%d" % args.batch_size],
            env=env, capture_output=True, text=True, check=False)
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if out.returncode or not lines:
          sys.exit("%s %s failed:\n%s" % (setting, stage, out.stderr[-3000:]))
        result = json.loads(lines[-1][len("RESULT "):])
        results[(setting, stage)].append(result)
        print("  %s %s: %.3f s/step, %.0f MB" % (
            stage, setting, result["s_per_step"], result["peak_mb"]),
              flush=True)

  print("machine: %s, %d CPUs, Python %s; batch %d, %d steps, %d repeats" % (
      platform.processor() or platform.machine(), os.cpu_count(),
      platform.python_version(), args.batch_size, args.steps, args.repeats))
  print()
  print("| stage | setting | s/step | peak MB | speed vs %s | memory vs %s |"
        % (settings[0], settings[0]))
  print("|---|---|---|---|---|---|")
  for stage in stages:
    base = None
    for setting in settings:
      runs = results[(setting, stage)]
      step = statistics.median(r["s_per_step"] for r in runs)
      peak = statistics.median(r["peak_mb"] for r in runs)
      base = base or (step, peak)
      print("| %s | %s | %.3f | %.0f | %.2fx | %.2fx |" % (
          stage, setting, step, peak, base[0] / step, peak / base[1]))


if __name__ == "__main__":
  main()
