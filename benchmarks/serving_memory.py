#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Peak memory and time of one `caption` request, whole vs in batches.

  .venv/bin/python benchmarks/serving_memory.py [--requests=20,400,1200]
      [--images_per_batch=0,16] [--huge_pngs=4] [--model_dir=...]

Exports one checkpoint once per --images_per_batch value (0: a request's
images all at once, as exports made before the option; N: consecutive
batches of at most N), then sends each export one request of each size in
a fresh plain-TensorFlow process (it imports nothing of this project),
whose peak resident memory is sampled from /proc every 0.1 s
(process_stats.run). Each process loads the SavedModel and makes one
call; the load alone (a call with one image) is measured too, so that the
request's own memory is the difference. The images are the demo data's
(repeated to reach a size); --huge_pngs adds a request of that many
7000 x 7000 PNGs (49 megapixels each, under the 50 MP limit).

The model is the trained demo model of `make demo` when --model_dir holds
one, else an untrained demo-config model at 299 x 299 (serving_throughput's
_model). Outputs of every export are compared: captions identical, or the
differing requests are named.
"""

import argparse
import io
import json
import os
import sys
import textwrap

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from im2txt.serving import saved_model_export  # noqa: E402

import process_stats  # noqa: E402  (same folder)
import serving_throughput  # noqa: E402  (same folder)

CLIENT = textwrap.dedent("""\
    import hashlib, json, sys, time
    import tensorflow as tf
    export_dir, images_file, out_file = sys.argv[1:]
    model = tf.saved_model.load(export_dir)
    with open(images_file, "rb") as f:
      images = [bytes.fromhex(h) for h in json.load(f)]
    start = time.perf_counter()
    out = model.signatures["caption"](images=tf.constant(images))
    seconds = time.perf_counter() - start
    captions = out["captions"].numpy().tolist()
    json.dump({"seconds": seconds,
               "status": [s.decode() for s in out["status"].numpy()],
               "digest": hashlib.sha256(repr(captions).encode()).hexdigest()},
              open(out_file, "w"))
    """)


def _huge_png(seed):
  """A 7000 x 7000 PNG of smooth noise (49 megapixels)."""
  rng = np.random.RandomState(seed)
  small = rng.randint(0, 255, [70, 70, 3]).astype(np.uint8)
  image = Image.fromarray(small).resize((7000, 7000), Image.BILINEAR)
  buffer = io.BytesIO()
  image.save(buffer, "PNG", compress_level=1)
  return buffer.getvalue()


def _client(script, export_dir, images, root, name):
  images_file = os.path.join(root, name + ".json")
  with open(images_file, "w") as f:
    json.dump([e.hex() for e in images], f)
  out = os.path.join(root, name + ".out.json")
  _, peak_mb, _ = process_stats.run([sys.executable, script, export_dir,
                                     images_file, out])
  os.remove(images_file)
  with open(out) as f:
    result = json.load(f)
  result["peak_mb"] = peak_mb
  return result


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  parser.add_argument("--requests", default="20,400,1200")
  parser.add_argument("--images_per_batch", default="0,16")
  parser.add_argument("--huge_pngs", type=int, default=4)
  serving_throughput.add_model_flags(parser)
  args = parser.parse_args()
  root, train_dir, vocab_file, what, distinct = serving_throughput.set_up(
      args, "im2txt_serving_memory_")
  sizes = [int(n) for n in args.requests.split(",")]
  requests = {"1 image (load only)": distinct[:1]}
  for n in sizes:
    requests["%d images" % n] = [distinct[i % len(distinct)]
                                 for i in range(n)]
  if args.huge_pngs:
    requests["%d PNGs of 49 MP" % args.huge_pngs] = [
        _huge_png(i) for i in range(args.huge_pngs)]
  print("Model: %s; %d distinct images" % (what, len(distinct)))
  script = os.path.join(root, "client.py")
  with open(script, "w") as f:
    f.write(CLIENT)
  batches = [int(b) for b in args.images_per_batch.split(",")]
  results = {}
  for per_batch in batches:
    export_dir = os.path.join(root, "export_%d" % per_batch)
    saved_model_export.export_saved_model(train_dir, vocab_file, export_dir,
                                          images_per_batch=per_batch)
    for index, (name, images) in enumerate(requests.items()):
      results[per_batch, name] = _client(script, export_dir, images, root,
                                         "request%d" % index)
      print("  images_per_batch=%d, %s: %.0f MB, %.2f s" % (
          per_batch, name, results[per_batch, name]["peak_mb"],
          results[per_batch, name]["seconds"]), flush=True)
  base = batches[0]
  print("\n| request | " + " | ".join(
      "images_per_batch=%d: peak MB, s/image" % b for b in batches) +
        " | memory ratio | time ratio |")
  print("|---" * (len(batches) + 3) + "|")
  for name, images in requests.items():
    cells = ["%.0f, %.3f" % (results[b, name]["peak_mb"],
                             results[b, name]["seconds"] / len(images))
             for b in batches]
    last = batches[-1]
    print("| %s | %s | %.2fx | %.2fx |" % (
        name, " | ".join(cells),
        results[last, name]["peak_mb"] / results[base, name]["peak_mb"],
        results[last, name]["seconds"] / results[base, name]["seconds"]))
  differing = [name for name in requests
               if len({results[b, name]["digest"] for b in batches}) > 1]
  print("\nCaptions identical across exports: %s" % (
      "all requests" if not differing else "NOT for " + ", ".join(
          differing)))


if __name__ == "__main__":
  main()
