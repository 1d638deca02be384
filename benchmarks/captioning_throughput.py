#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Captioning new image files: the original's work against the project's.

  .venv/bin/python benchmarks/captioning_throughput.py \
      [--work_dir=/tmp/im2txt_captioning] [--num_images=40] \
      [--batch_size=20] [--repeats=3] [--output=captioning.json]

The model is the original's ModelConfig (299 x 299 Inception v3, LSTM 512,
vocab_size 12000: the MSCOCO vocabulary's size), with random weights saved
as a checkpoint: captioning's cost does not depend on what the model has
learned, because beam search runs max_caption_length - 1 steps whatever
the words (the original has no early stop). The weights are drawn at
--initializer_scale 0.5 instead of the ModelConfig's 0.08, so that the
next-word distribution is peaked as a trained model's, not near-uniform
with near-ties everywhere; at 1.0 the random LSTM is chaotic, and the
last-digit differences between a step on 3 rows and on 60 rows (matrix
products of other shapes) grow into other captions for a few images. The
images are the benchmarks' noisy 640 x 480 JPEGs.

Measured in one process and one session (the same kernels for all), the
passes alternating, each repeated --repeats times (medians):

  original_work    what the original run_inference does per image: the
                   image's encoder run, then beam search whose top-k step
                   sorts a Python list of (id, p) for every partial caption
                   (the pre-2019 upstream code: correct, and the faithful
                   baseline); one image at a time
  run_inference    the project's run_inference, one image at a time
  caption_images   the project's caption_images path (captioner.caption_all)
                   at --batch_size
and, at --batch_size, the encoder alone (the images' initial states) and
the search alone (beam_search_states from those states), to show where the
time goes. Every pass's captions are compared with original_work's: the
script exits non-zero if any differ.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


from im2txt import tf_compat  # noqa: E402,F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # noqa: E402

from im2txt import configuration  # noqa: E402
from im2txt.captioning import captioner  # noqa: E402
from im2txt.inference_utils import caption_generator  # noqa: E402

import builder_throughput  # noqa: E402  (same folder)


class OriginalWorkGenerator(caption_generator.CaptionGenerator):
  """The original's beam search: its top-k step ranks a Python list of
  (word id, probability) pairs by a stable sort on -p, for every partial
  caption at every step. The same words as the project's top_words_rows."""

  def top_words_rows(self, probabilities):
    top = []
    for word_probabilities in probabilities:
      words_and_probs = list(enumerate(word_probabilities))
      words_and_probs.sort(key=lambda x: -x[1])
      top.append([w for w, _ in words_and_probs[0:self.beam_size]])
    return top


def make_model(work_dir, vocab_size, initializer_scale, seed=0):
  """A random-weight checkpoint of the original's ModelConfig (vocab_size
  words) with its model_config.json and a vocabulary file; returns
  (checkpoint prefix, vocab file)."""
  model_dir = os.path.join(work_dir, "model_%d_%g" % (vocab_size,
                                                     initializer_scale))
  prefix = os.path.join(model_dir, "model.ckpt-0")
  vocab_file = os.path.join(model_dir, "word_counts.txt")
  if os.path.exists(prefix + ".index"):
    return prefix, vocab_file
  os.makedirs(model_dir, exist_ok=True)
  config = configuration.ModelConfig()
  config.vocab_size = vocab_size
  config.initializer_scale = initializer_scale
  g, _, saver = captioner.build_inference_graph(config)
  with g.as_default():
    tf.set_random_seed(seed)
    init = tf.global_variables_initializer()
  with tf.Session(graph=g) as sess:
    sess.run(init)
    saver.save(sess, prefix, write_meta_graph=False)
  configuration.save_configs(model_dir, config)
  # vocab_size - 1 words in the file; the reader adds <UNK> as the last id.
  with open(vocab_file, "w", encoding="utf-8") as f:
    f.write("<S> 100000\n</S> 100000\n")
    for i in range(vocab_size - 3):
      f.write("w%05d %d\n" % (i, 100000 - i))
  return prefix, vocab_file


def best_words(captions):
  return [c.sentence for c in captions]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/im2txt_captioning")
  parser.add_argument("--num_images", type=int, default=40)
  parser.add_argument("--batch_size", type=int, default=20)
  parser.add_argument("--vocab_size", type=int, default=12000)
  parser.add_argument("--initializer_scale", type=float, default=0.5)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--output", default="")
  args = parser.parse_args()

  paths = builder_throughput.make_images(args.work_dir,
                                         max(100, args.num_images))
  files = [os.path.join(paths[key], name)
           for key in ("train_image_dir", "val_image_dir")
           for name in sorted(os.listdir(paths[key]))][:args.num_images]
  items = []
  for i, path in enumerate(files):
    with open(path, "rb") as f:
      items.append((i, f.read(), os.path.basename(path)))
  checkpoint, vocab_file = make_model(args.work_dir, args.vocab_size,
                                      args.initializer_scale)

  loaded = captioner.load_model(checkpoint, vocab_file)
  project = caption_generator.CaptionGenerator(loaded.model, loaded.vocab)
  original = OriginalWorkGenerator(loaded.model, loaded.vocab)
  n = len(items)

  def original_work(sess):
    return [original.beam_search(sess, encoded) for _, encoded, _ in items]

  def run_inference(sess):
    return [project.beam_search(sess, encoded) for _, encoded, _ in items]

  def caption_images(sess):
    results, _, failures = captioner.caption_all(
        sess, project, loaded.vocab, items, log_every=10**9,
        batch_size=args.batch_size)
    assert not failures and len(results) == n, failures
    return results

  batch = [encoded for _, encoded, _ in items[:args.batch_size]]

  def encoder(sess):
    return loaded.model.feed_images(sess, batch)

  passes = [("original_work", original_work, n),
            ("run_inference", run_inference, n),
            ("caption_images", caption_images, n),
            ("encoder_batch", encoder, len(batch))]
  times = {name: [] for name, _, _ in passes}
  times["search_batch"] = []
  outputs = {}
  with tf.Session(graph=loaded.graph) as sess:
    loaded.restore_fn(sess)
    # Warm-up: kernels for batch 1 and --batch_size.
    project.beam_search(sess, items[0][1])
    states = encoder(sess)
    project.beam_search_states(sess, states)
    for _ in range(args.repeats):
      for name, fn, count in passes:
        start = time.time()
        outputs[name] = fn(sess)
        times[name].append((time.time() - start) / count)
      start = time.time()
      searched = project.beam_search_states(sess, states)
      times["search_batch"].append((time.time() - start) / len(batch))

  # Captions: every path against the original's work.
  reference = [best_words(c) for c in outputs["original_work"]]
  mismatches = {
      "run_inference": sum(best_words(c) != r for c, r in zip(
          outputs["run_inference"], reference)),
      "search_batch": sum(best_words(c) != r for c, r in zip(
          searched, reference)),
  }
  words = [" ".join(captioner.caption_words(c[0], loaded.vocab))
           for c in outputs["original_work"]]
  mismatches["caption_images"] = sum(
      r["caption"] != w for r, w in zip(outputs["caption_images"], words))

  figures = {name + "_s_per_image": statistics.median(t)
             for name, t in times.items()}
  base = figures["original_work_s_per_image"]
  print("%d images, batch %d, vocab_size %d, %s, %s" % (
      n, args.batch_size, args.vocab_size, platform.processor() or
      platform.machine(), tf.__version__))
  for name in ("original_work", "run_inference", "caption_images",
               "encoder_batch", "search_batch"):
    value = figures[name + "_s_per_image"]
    print("%-16s %.4f s/image  %.2fx the original's work  (runs: %s)" % (
        name, value, base / value,
        ", ".join("%.4f" % t for t in times[name])))
  print("captions differing from the original's work:", mismatches)
  if args.output:
    with open(args.output, "w") as f:
      json.dump({"figures": figures, "times": times,
                 "mismatches": mismatches, "num_images": n,
                 "batch_size": args.batch_size,
                 "vocab_size": args.vocab_size,
                 "date": time.strftime("%Y-%m-%d %H:%M")}, f, indent=1)
  if any(mismatches.values()):
    sys.exit("captions differ from the original's work")


if __name__ == "__main__":
  main()
