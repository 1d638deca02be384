#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""Speed of the fast paths against the faithful ones, on demo data, one run.

  .venv/bin/python benchmarks/run_benchmarks.py [--image_size=150]
      [--steps=40] [--memory_steps=500] [--caption_images=64]

Makes demo data (drawn scenes, the builder's records) in a temporary
folder, then measures, each baseline in the same process and run:

  phase-1 training   examples/s from cached features vs from images
                     (the same graph builder, batch 32, encoder frozen)
  input pipeline     a phase-1 step fed by the queue pipeline vs the same
                     step fed one fixed batch from memory (feed_dict)
  captioning         images/s of batched beam search (32 images) vs one
                     image at a time, and how many top captions agree
  builder            images/s at 2 threads, and 2 worker processes, vs 1
                     thread (builder_throughput.py has larger runs)
  memory             peak resident memory of phase-1 image training, and its
                     growth between step 50 and --memory_steps
  bfloat16 encoder   images/s of the frozen encoder's forward pass in
                     bfloat16 vs float32 (batch 32, at --image_size and at
                     the MSCOCO 299 x 299), and, with a trained demo model
                     (--captions_model_dir, from `make demo`), how many top
                     captions of its val and test images stay the same

Step times are medians over --steps timed steps after 10 warm-up steps. The
model of the speed figures is untrained (random weights, encoder frozen):
speed does not depend on what it has learned; batched and single captions
are only compared with each other. The bfloat16 caption figures need a
trained model and use the one `make demo` leaves in demo_output/ (or
--captions_model_dir); without it they are skipped.
"""

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from im2txt import tf_compat  # noqa: E402,F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # noqa: E402

from im2txt.evaluation import caption_metrics  # noqa: E402
from im2txt.captioning import captioner  # noqa: E402
from im2txt.common import checkpoints  # noqa: E402
from im2txt import configuration  # noqa: E402
from im2txt.features import encoder_cache  # noqa: E402
from im2txt.training import builder  # noqa: E402
from im2txt.data import demo_data  # noqa: E402
from im2txt.data import image_checks  # noqa: E402
from im2txt.data import mscoco_builder  # noqa: E402
from im2txt.data import schema  # noqa: E402
from im2txt.inference_utils import caption_generator  # noqa: E402
from im2txt.ops import image_embedding  # noqa: E402
from im2txt.ops import image_processing  # noqa: E402

import builder_throughput  # noqa: E402  (same folder)

WARMUP = 10


def _rss_mb():
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024.0
  return float("nan")


def _peak_rss_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _median_step(sess, fetch, steps, feed_dict=None):
  for _ in range(WARMUP):
    sess.run(fetch, feed_dict)
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    sess.run(fetch, feed_dict)
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _config(args):
  config = configuration.ModelConfig.from_json_file(os.path.join(
      os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "demo",
      "model_config.json"))
  config.image_height = config.image_width = args.image_size
  config.resize_height = config.resize_width = int(round(
      args.image_size * 346 / 299))
  return config


def make_data(root, num_train_images):
  """Demo images and their records under root; returns the records dir."""
  paths = demo_data.generate(os.path.join(root, "raw"), num_train_images, 100)
  out = os.path.join(root, "data")
  devnull = open(os.devnull, "w")
  stdout, sys.stdout = sys.stdout, devnull
  try:
    mscoco_builder.build(
        output_dir=out, word_counts_output_file=os.path.join(
            out, "word_counts.txt"), train_shards=4, val_shards=1,
        test_shards=1, num_threads=2, **paths)
  finally:
    sys.stdout = stdout
    devnull.close()
  return out


def _start_session(graph):
  """A session with initialized variables and running queue runners, and a
  function that stops both."""
  with graph.as_default():
    init = tf.global_variables_initializer()
  sess = tf.Session(graph=graph)
  sess.run(init)
  coord = tf.train.Coordinator()
  threads = tf.train.start_queue_runners(sess, coord)

  def stop():
    coord.request_stop()
    sess.close()
    coord.join(threads, stop_grace_period_secs=10)
  return sess, stop


def bench_training(config, data_dir, root, steps, memory_steps):
  """Returns a dict of phase-1 figures."""
  training_config = configuration.TrainingConfig()
  config.input_file_pattern = os.path.join(data_dir, "train-?????-of-00004")
  out = {}
  g, model, train_op, saver = builder.build_training_graph(
      config, training_config, train_inception=False)[:4]
  sess, stop = _start_session(g)
  checkpoint = saver.save(sess, os.path.join(root, "encoder", "model.ckpt"),
                          global_step=0)
  out["images_step"] = _median_step(sess, train_op, steps)
  # The same step fed one batch from memory: no decoding, no queues.
  batch = sess.run([model.images, model.input_seqs, model.target_seqs,
                    model.input_mask])
  feed = dict(zip([model.images, model.input_seqs, model.target_seqs,
                   model.input_mask], batch))
  out["memory_step"] = _median_step(sess, train_op, steps, feed)
  # Memory over a long run of the image path.
  rss = {}
  for step in range(1, memory_steps + 1):
    sess.run(train_op)
    if step in (50, memory_steps):
      rss[step] = _rss_mb()
  out["rss_50"], out["rss_end"] = rss[50], rss[memory_steps]
  out["peak_rss"] = _peak_rss_mb()
  stop()

  # The image path with the bfloat16 encoder (same data, fresh graph).
  g, _, train_op = builder.build_training_graph(
      config, training_config, train_inception=False,
      encoder_dtype="bfloat16")[:3]
  sess, stop = _start_session(g)
  out["images_step_bfloat16"] = _median_step(sess, train_op, steps)
  stop()

  # Cached features of the same encoder, and training from them.
  start = time.perf_counter()
  summary = encoder_cache.cache_features(
      config.input_file_pattern, os.path.join(root, "features"), config,
      checkpoint)
  out["cache_seconds"] = time.perf_counter() - start
  out["cache_images"] = summary["images"]
  g, model, train_op = builder.build_training_graph(
      config, training_config, train_inception=False,
      features_file_pattern=os.path.join(root, "features",
                                         "features-train-?????-of-00004"))[:3]
  with g.as_default():
    init = tf.global_variables_initializer()
  with tf.Session(graph=g) as sess:
    sess.run(init)
    out["features_step"] = _median_step(sess, train_op, steps * 5)
  return out, checkpoint


def bench_captioning(config, data_dir, checkpoint, num_images):
  """Images/s of batched captioning vs one image at a time."""
  configuration.save_configs(os.path.dirname(checkpoint), config)
  g, model, restore_fn, vocab, _ = captioner.load_model(
      checkpoint, os.path.join(data_dir, "word_counts.txt"))
  images = [e for _, e, _ in captioner.images_from_records(
      os.path.join(data_dir, "train-?????-of-00004"))][:num_images]
  generator = caption_generator.CaptionGenerator(model, vocab)
  with tf.Session(graph=g) as sess:
    restore_fn(sess)
    generator.beam_search_batch(sess, images[:4])  # Warm-up.
    generator.beam_search(sess, images[0])
    start = time.perf_counter()
    single = [generator.beam_search(sess, e) for e in images]
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = []
    for i in range(0, len(images), 32):
      batched.extend(generator.beam_search_batch(sess, images[i:i + 32]))
    batched_s = time.perf_counter() - start
    # The encoder's share of each (the initial states alone).
    start = time.perf_counter()
    for e in images:
      model.feed_image(sess, e)
    single_encoder_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(images), 32):
      model.feed_images(sess, images[i:i + 32])
    batched_encoder_s = time.perf_counter() - start
  same = sum(a[0].sentence == b[0].sentence for a, b in zip(single, batched))
  n = len(images)
  return {"single": n / single_s, "batched": n / batched_s,
          "same_top": same, "images": n,
          "single_search": n / (single_s - single_encoder_s),
          "batched_search": n / (batched_s - batched_encoder_s)}


def bench_builder(root, num_images):
  """Seconds of the builder by threads and processes on noisy images."""
  rng = builder_throughput.np.random.default_rng(0)
  paths = demo_data.generate(os.path.join(root, "builder_raw"), num_images,
                             num_images // 5, image_size=(640, 480))
  for key in ("train_image_dir", "val_image_dir"):
    builder_throughput._add_noise(paths[key], rng)  # pylint: disable=protected-access
  times = {}
  for threads, parallelism in [(1, "threads"), (2, "threads"),
                               (2, "processes")] * 2:
    elapsed, _ = builder_throughput._time_build(  # pylint: disable=protected-access
        paths, root, threads, image_checks.ImageCache(), parallelism)
    times.setdefault((threads, parallelism), []).append(elapsed)
  total = num_images + num_images // 5
  return {key: total / min(v) for key, v in times.items()}


def _encoder_per_dtype(images):
  """{dtype: frozen encoder output} for each compute dtype, one shared set
  of variables."""
  outputs = {}
  for dtype in image_embedding.COMPUTE_DTYPES:
    with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
      outputs[dtype] = image_embedding.inception_v3(
          images, trainable=False, is_training=False, add_summaries=False,
          compute_dtype=dtype)
  return outputs


def bench_encoder_dtypes(data_dir, image_size, repeats=10):
  """Median seconds per batch of 32 of the encoder in float32 and bfloat16.

  Both towers share one set of variables whose batch-norm statistics are
  measured on demo images first (as train does for a random encoder), and
  run on the same preprocessed demo batch, alternating.
  """
  encoded = [e for _, e, _ in captioner.images_from_records(
      os.path.join(data_dir, "train-?????-of-00004"))][:32]
  g = tf.Graph()
  with g.as_default():
    images = tf.stack([image_processing.process_image(
        e, is_training=False, height=image_size, width=image_size,
        resize_height=image_size + image_size // 6,
        resize_width=image_size + image_size // 6, thread_id=1)
                       for e in encoded])
    batch = tf.Variable(tf.zeros([32, image_size, image_size, 3]),
                        trainable=False, collections=[])
    outputs = _encoder_per_dtype(batch)
    calibrate = image_embedding.batch_norm_calibration_updates(batch)
    init = tf.global_variables_initializer()
  with tf.Session(graph=g) as sess:
    sess.run(init)
    sess.run(batch.initializer)
    sess.run(batch.assign(images))
    for _ in range(5):
      sess.run(calibrate)
    times = {dtype: [] for dtype in outputs}
    for i in range(repeats + 2):
      for dtype, output in outputs.items():
        start = time.perf_counter()
        sess.run(output.op)
        if i >= 2:  # Two warm-up runs each.
          times[dtype].append(time.perf_counter() - start)
  return {dtype: statistics.median(t) for dtype, t in times.items()}


def bench_encoder_sensitivity(model_dir, data_dir, num_images=32):
  """Mean relative change of a trained model's encoder features under
  bfloat16, and under float32 with N(0, 1e-3) noise added to the input
  pixels (in [-1, 1]; one JPEG level is 2/255), on val images."""
  checkpoint = tf.train.latest_checkpoint(model_dir)
  config = checkpoints.model_config_for(model_dir)
  encoded = [e for _, e, _ in captioner.images_from_records(
      os.path.join(data_dir, "val-?????-of-?????"))][:num_images]
  g = tf.Graph()
  with g.as_default():
    images = tf.placeholder(tf.float32, [None, config.image_height,
                                         config.image_width, 3])
    preprocessed = tf.stack([image_processing.process_image(
        e, is_training=False, height=config.image_height,
        width=config.image_width, resize_height=config.resize_height,
        resize_width=config.resize_width, thread_id=1) for e in encoded])
    outputs = _encoder_per_dtype(images)
    saver = tf.train.Saver(tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES,
                                             scope=schema.ENCODER_SCOPE))
  with tf.Session(graph=g) as sess:
    saver.restore(sess, checkpoint)
    pixels = sess.run(preprocessed)
    reference = sess.run(outputs["float32"], {images: pixels})
    noise = np.random.RandomState(0).normal(0, 1e-3, pixels.shape)
    noisy = sess.run(outputs["float32"], {images: pixels + noise})
    bf16 = sess.run(outputs["bfloat16"], {images: pixels})

  def change(features):
    return float(np.mean(np.linalg.norm(features - reference, axis=1) /
                         np.linalg.norm(reference, axis=1)))
  return {"bfloat16": change(bf16), "noise": change(noisy)}


def bench_bfloat16_captions(captions_model_dir, captions_data_dir):
  """Top captions of the demo model's val + test images in both dtypes."""
  pattern = ",".join(os.path.join(captions_data_dir, split + "-?????-of-?????")
                     for split in ("val", "test"))
  items = list(captioner.images_from_records(pattern))
  references = caption_metrics.references_from_records(pattern)
  out = {"images": len(items)}
  for dtype in image_embedding.COMPUTE_DTYPES:
    g, model, restore_fn, vocab, _ = captioner.load_model(
        captions_model_dir, os.path.join(captions_data_dir, "word_counts.txt"),
        encoder_dtype=dtype)
    generator = caption_generator.CaptionGenerator(model, vocab)
    captions = []
    with tf.Session(graph=g) as sess:
      restore_fn(sess)
      for i in range(0, len(items), 32):
        for beams in generator.beam_search_batch(
            sess, [e for _, e, _ in items[i:i + 32]]):
          captions.append(" ".join(captioner.caption_words(beams[0],
                                                               vocab)))
    results = {image_id: c for (image_id, _, _), c in zip(items, captions)}
    out[dtype] = captions
    out[dtype + "_scores"] = caption_metrics.score(
        results, references, metrics=("Bleu_4", "CIDEr"))
  out["same_top"] = sum(a == b for a, b in zip(out["float32"],
                                               out["bfloat16"]))
  return out


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  parser.add_argument("--image_size", type=int, default=150)
  parser.add_argument("--steps", type=int, default=40)
  parser.add_argument("--memory_steps", type=int, default=500)
  parser.add_argument("--caption_images", type=int, default=64)
  parser.add_argument("--builder_images", type=int, default=1000)
  parser.add_argument("--num_train_images", type=int, default=300)
  parser.add_argument("--captions_model_dir",
                      default="demo_output/model/train",
                      help="A trained model (default: the one `make demo` "
                      "leaves) for the bfloat16 caption comparison; skipped "
                      "if it holds no checkpoint.")
  parser.add_argument("--captions_data_dir", default="demo_output/data",
                      help="Folder of its val-* and test-* records and "
                      "word_counts.txt.")
  args = parser.parse_args()
  tf.logging.set_verbosity(tf.logging.ERROR)

  root = tempfile.mkdtemp(prefix="im2txt_bench_")
  config = _config(args)
  print("Machine: %s, %d CPUs, Python %s, TensorFlow %s, GPU: %s" % (
      platform.processor() or platform.machine(), os.cpu_count(),
      platform.python_version(), tf.__version__,
      bool(tf.config.list_physical_devices("GPU"))))
  print("Model: demo config at %dx%d, batch %d" % (
      args.image_size, args.image_size, config.batch_size))
  data_dir = make_data(root, args.num_train_images)
  t, checkpoint = bench_training(config, data_dir, root, args.steps,
                                 args.memory_steps)
  c = bench_captioning(config, data_dir, checkpoint, args.caption_images)
  b = bench_builder(root, args.builder_images)
  e = {size: bench_encoder_dtypes(data_dir, size)
       for size in (args.image_size, 299)}
  bf = None
  if tf.train.latest_checkpoint(args.captions_model_dir):
    bf = bench_bfloat16_captions(args.captions_model_dir,
                                 args.captions_data_dir)
    bf["change"] = bench_encoder_sensitivity(args.captions_model_dir,
                                             args.captions_data_dir)

  batch = config.batch_size
  rows = [
      ("Phase-1 examples/s: cached features vs images",
       "%.0f vs %.0f" % (batch / t["features_step"], batch / t["images_step"]),
       "%.1fx" % (t["images_step"] / t["features_step"]), ">= 10x"),
      ("Phase-1 step: queue pipeline vs fed from memory (s)",
       "%.3f vs %.3f" % (t["images_step"], t["memory_step"]),
       "%+.1f%% overhead" % (100 * (t["images_step"] / t["memory_step"] - 1)),
       "<= 10%"),
      ("Captioning images/s: batched (32) vs one at a time",
       "%.1f vs %.1f" % (c["batched"], c["single"]),
       "%.1fx, top caption same %d/%d" % (c["batched"] / c["single"],
                                          c["same_top"], c["images"]),
       ">= 5x, identical"),
      ("  of which the search after the encoder (images/s)",
       "%.1f vs %.1f" % (c["batched_search"], c["single_search"]),
       "%.1fx" % (c["batched_search"] / c["single_search"]), "-"),
      ("Phase-1 step on images: bfloat16 vs float32 encoder (s)",
       "%.3f vs %.3f" % (t["images_step_bfloat16"], t["images_step"]),
       "%.2fx" % (t["images_step"] / t["images_step_bfloat16"]), "-"),
      ("Builder images/s: 2 threads vs 1 (%d images)" % args.builder_images,
       "%.0f vs %.0f" % (b[2, "threads"], b[1, "threads"]),
       "%.2fx" % (b[2, "threads"] / b[1, "threads"]), ">= 1.8x"),
      ("Builder images/s: 2 worker processes vs 1 thread",
       "%.0f vs %.0f" % (b[2, "processes"], b[1, "threads"]),
       "%.2fx" % (b[2, "processes"] / b[1, "threads"]), ">= 1.8x"),
      ("Phase-1 image training memory (MB): peak; RSS step 50 -> %d"
       % args.memory_steps,
       "%.0f; %.0f -> %.0f" % (t["peak_rss"], t["rss_50"], t["rss_end"]),
       "%+.0f MB" % (t["rss_end"] - t["rss_50"]), "no growth"),
      ("Feature cache: time to encode the train split",
       "%.1f s for %d images" % (t["cache_seconds"], t["cache_images"]),
       "%.1f images/s" % (t["cache_images"] / t["cache_seconds"]), "-"),
  ]
  for size, times in e.items():
    rows.append((
        "Encoder forward images/s at %dx%d: bfloat16 vs float32"
        % (size, size),
        "%.1f vs %.1f" % (32 / times["bfloat16"], 32 / times["float32"]),
        "%.2fx" % (times["float32"] / times["bfloat16"]), ">= 1.6x"))
  if bf is None:
    rows.append(("bfloat16 top captions of the demo model", "skipped: no "
                 "checkpoint in %s (run make demo)" % args.captions_model_dir,
                 "-", ">= 95% same"))
  else:
    rows.append((
        "bfloat16 vs float32 top captions, demo model, val + test images",
        "BLEU-4 %.3f vs %.3f, CIDEr %.3f vs %.3f" % (
            bf["bfloat16_scores"]["Bleu_4"], bf["float32_scores"]["Bleu_4"],
            bf["bfloat16_scores"]["CIDEr"], bf["float32_scores"]["CIDEr"]),
        "%d/%d same (%.0f%%)" % (bf["same_top"], bf["images"],
                                 100.0 * bf["same_top"] / bf["images"]),
        ">= 95% same"))
    rows.append((
        "Its encoder's features: change from bfloat16 vs from 1e-3 input "
        "noise (float32)",
        "%.1f%% vs %.1f%%" % (100 * bf["change"]["bfloat16"],
                              100 * bf["change"]["noise"]), "-", "-"))
  print()
  print("| figure | measured | ratio | goal |")
  print("|---|---|---|---|")
  for row in rows:
    print("| %s |" % " | ".join(row))


if __name__ == "__main__":
  main()
