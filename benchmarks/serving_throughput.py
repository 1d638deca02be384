#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Images/s of the SavedModel's caption signature vs run_inference's path.

  .venv/bin/python benchmarks/serving_throughput.py [--num_images=64]
      [--image_size=299] [--model_dir=demo_output/model/train]

One model, one set of images, one run:

  run_inference   the project's captioning path (load_model, then
                  beam_search_in_batches at --batch_size 1 and 32), timed
                  after loading and a warm-up batch;
  SavedModel      export_saved_model of the same checkpoint (beam 3, length
                  20), then a separate plain-TensorFlow 2 process (imports
                  nothing of this project) that times tf.saved_model.load
                  and the `caption` signature at batch 1 and 32 after a
                  warm-up call.

The model is the trained demo model of `make demo` when --model_dir holds
one (its own config), else an untrained demo-config model at --image_size
(random weights caption to the maximum length: the slowest search). Ratios
are SavedModel / run_inference.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from im2txt import tf_compat  # noqa: E402,F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # noqa: E402

from im2txt.captioning import captioner  # noqa: E402
from im2txt import configuration  # noqa: E402
from im2txt.serving import saved_model_export  # noqa: E402
from im2txt.inference_utils import caption_generator  # noqa: E402

import run_benchmarks  # noqa: E402  (same folder)

CLIENT = textwrap.dedent("""\
    import json, sys, time
    import tensorflow as tf
    export_dir, images_file, out_file = sys.argv[1:]
    start = time.perf_counter()
    model = tf.saved_model.load(export_dir)
    caption = model.signatures["caption"]
    load_s = time.perf_counter() - start
    images = [bytes.fromhex(h) for h in json.load(open(images_file))]
    caption(images=tf.constant(images[:2]))  # warm-up
    rates = {}
    for batch in (1, 32):
      start = time.perf_counter()
      captions = []
      for i in range(0, len(images), batch):
        out = caption(images=tf.constant(images[i:i + batch]))
        captions.extend(c[0].decode() for c in out["captions"].numpy())
      rates[batch] = len(images) / (time.perf_counter() - start)
    json.dump({"load_s": load_s, "rates": rates, "captions": captions},
              open(out_file, "w"))
    """)


def _model(args, root):
  """(checkpoint dir, vocab file): the demo model, or an untrained one."""
  if tf.train.latest_checkpoint(args.model_dir):
    return args.model_dir, args.vocab_file, "trained demo model"
  config = run_benchmarks._config(args)  # pylint: disable=protected-access
  data_dir = run_benchmarks.make_data(root, 40)
  train_dir = os.path.join(root, "train")
  g, _, saver = captioner.build_inference_graph(config)
  with g.as_default(), tf.Session(graph=g) as sess:
    sess.run(tf.global_variables_initializer())
    saver.save(sess, os.path.join(train_dir, "model.ckpt-0"))
  configuration.save_configs(train_dir, config)
  return (train_dir, os.path.join(data_dir, "word_counts.txt"),
          "untrained demo-config model at %dx%d" % (args.image_size,
                                                    args.image_size))


def _images(vocab_file, num_images):
  pattern = os.path.join(os.path.dirname(vocab_file), "train-?????-of-*")
  return [e for _, e, _ in captioner.images_from_records(pattern)][
      :num_images]


def bench_run_inference(train_dir, vocab_file, images):
  """Load time, images/s per batch size and top captions of the project's
  captioning path (what run_inference runs)."""
  start = time.perf_counter()
  loaded = captioner.load_model(train_dir, vocab_file)
  generator = caption_generator.CaptionGenerator(loaded.model, loaded.vocab)
  rates, captions = {}, []
  with tf.Session(graph=loaded.graph) as sess:
    loaded.restore_fn(sess)
    load_s = time.perf_counter() - start
    generator.beam_search_batch(sess, images[:2])  # warm-up
    for batch in (1, 32):
      start = time.perf_counter()
      captions = [" ".join(captioner.caption_words(c[0], loaded.vocab))
                  for _, c in captioner.beam_search_in_batches(
                      sess, generator, images, batch, lambda e: e)]
      rates[batch] = len(images) / (time.perf_counter() - start)
  return {"load_s": load_s, "rates": rates, "captions": captions}


def bench_saved_model(train_dir, vocab_file, images, root):
  """Exports the checkpoint; the same figures from a plain-TF process."""
  export_dir = os.path.join(root, "saved_model")
  start = time.perf_counter()
  saved_model_export.export_saved_model(train_dir, vocab_file, export_dir)
  export_s = time.perf_counter() - start
  images_file = os.path.join(root, "images.json")
  with open(images_file, "w") as f:
    json.dump([e.hex() for e in images], f)
  script = os.path.join(root, "client.py")
  with open(script, "w") as f:
    f.write(CLIENT)
  out = os.path.join(root, "client.json")
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  subprocess.run([sys.executable, script, export_dir, images_file, out],
                 check=True, cwd=root, env=env)
  with open(out) as f:
    result = json.load(f)
  result["rates"] = {int(k): v for k, v in result["rates"].items()}
  result["export_s"] = export_s
  return result


def add_model_flags(parser):
  """The flags that choose the model and its images (shared by the serving
  benchmarks)."""
  parser.add_argument("--num_images", type=int, default=64,
                      help="Distinct images taken from the demo data.")
  parser.add_argument("--image_size", type=int, default=299)
  parser.add_argument("--model_dir", default="demo_output/model/train")
  parser.add_argument("--vocab_file",
                      default="demo_output/data/word_counts.txt")


def set_up(args, prefix):
  """Prints the machine; returns (scratch folder, checkpoint dir, vocabulary
  file, what the model is, the encoded images)."""
  tf.logging.set_verbosity(tf.logging.ERROR)
  root = tempfile.mkdtemp(prefix=prefix)
  print("Machine: %s, %d CPUs, Python %s, TensorFlow %s" % (
      platform.processor() or platform.machine(), os.cpu_count(),
      platform.python_version(), tf.__version__))
  train_dir, vocab_file, what = _model(args, root)
  return root, train_dir, vocab_file, what, _images(vocab_file,
                                                     args.num_images)


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  add_model_flags(parser)
  args = parser.parse_args()
  root, train_dir, vocab_file, what, images = set_up(args, "im2txt_serving_")
  print("Model: %s; %d images; beam 3, max length 20" % (what, len(images)))
  ri = bench_run_inference(train_dir, vocab_file, images)
  sm = bench_saved_model(train_dir, vocab_file, images, root)
  same = sum(a == b for a, b in zip(ri["captions"], sm["captions"]))
  print("%-44s %12s %12s %8s" % ("", "SavedModel", "run_infer.", "ratio"))
  for batch in (1, 32):
    print("%-44s %12.2f %12.2f %7.2fx" % (
        "images/s, batch %d" % batch, sm["rates"][batch], ri["rates"][batch],
        sm["rates"][batch] / ri["rates"][batch]))
  print("%-44s %12.2f %12.2f %7.2fx" % (
      "load time (s): tf.saved_model.load vs load_model+restore",
      sm["load_s"], ri["load_s"], sm["load_s"] / ri["load_s"]))
  print("export time (s): %.1f; top captions identical: %d/%d"
        % (sm["export_s"], same, len(images)))


if __name__ == "__main__":
  main()
