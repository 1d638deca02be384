#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
r"""Images/s and latency of im2txt-model-server against the signature itself.

  .venv/bin/python benchmarks/model_server_throughput.py \
      [--concurrency=1,8,32] [--requests_per_client=8] [--model_dir=...]

One export (a version under a temporary base path), one set of one-image
requests, one run:

  direct      the `caption` signature called in this process (servable.py,
              the server's own loader) on batches of 1 and of 32 images;
  server      model_server on 127.0.0.1 with --enable_batching
              (--max_batch_size, --batch_timeout_micros,
              --num_batch_threads and --tensorflow_intra_op_parallelism as
              given), and
              `concurrency` client threads each sending
              --requests_per_client one-image requests over REST (JSON,
              base64) and over gRPC (tensorflow-serving-api's stub), one
              connection per thread.

Reported: images/s, p50 and p99 of the request latency, and the share of
the machine's CPU time the clients themselves used (this process's CPU
time over the wall time and the cores). Ratios are
server / direct at batch 1 (concurrency 1) and at batch 32 (higher
concurrencies, which batching turns into batches). Clients and server
share the machine's cores, as on a one-machine deployment.
"""

import argparse
import base64
import http.client
import json
import os
import resource
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from im2txt.serving import saved_model_export  # noqa: E402
from im2txt.serving import servable as servable_lib  # noqa: E402
from tests import serving_testing  # noqa: E402

import serving_throughput  # noqa: E402  (same folder)


def _direct(export_dir, images, repeats=3):
  """Images/s of the signature in-process at batch 1 and 32 (the median of
  `repeats` passes over the images)."""
  servable = servable_lib.Servable("im2txt", 1, export_dir)
  run = lambda batch: servable.run("caption", servable.check_inputs(
      "caption", {"images": batch}))
  run(images[:2])  # warm-up
  rates = {}
  for size in (1, 32):
    passes = []
    for _ in range(repeats):
      start = time.perf_counter()
      for i in range(0, len(images), size):
        run(images[i:i + size])
      passes.append(len(images) / (time.perf_counter() - start))
    rates[size] = float(np.median(passes))
  servable.close()
  return rates


def _cpu_seconds():
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def _load(server, images, concurrency, per_client, protocol):
  """(images/s, p50 s, p99 s, the clients' share of the machine's CPU
  time) of `concurrency` clients."""
  latencies, lock = [], threading.Lock()
  bodies = [json.dumps({"signature_name": "caption", "instances": [
      {"b64": base64.b64encode(i).decode()}]}).encode() for i in images]

  def client(index):
    if protocol == "rest":
      connection = http.client.HTTPConnection("127.0.0.1", server.rest_port,
                                              timeout=600)
    else:
      stub = server.grpc_stub()
    for k in range(per_client):
      n = (index * per_client + k) % len(images)
      start = time.perf_counter()
      if protocol == "rest":
        connection.request("POST", "/v1/models/im2txt:predict", bodies[n])
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
      else:
        server.grpc_caption(images[n:n + 1], stub)
      with lock:
        latencies.append(time.perf_counter() - start)

  threads = [threading.Thread(target=client, args=(i,))
             for i in range(concurrency)]
  start, cpu = time.perf_counter(), _cpu_seconds()
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  seconds = time.perf_counter() - start
  client_share = (_cpu_seconds() - cpu) / (seconds * os.cpu_count())
  return (len(latencies) / seconds, float(np.percentile(latencies, 50)),
          float(np.percentile(latencies, 99)), client_share)


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n", maxsplit=1)[0])
  parser.add_argument("--concurrency", default="1,8,32")
  parser.add_argument("--requests_per_client", type=int, default=8)
  parser.add_argument("--batch_timeout_micros", type=int, default=0)
  parser.add_argument("--num_batch_threads", type=int, default=1)
  parser.add_argument("--max_batch_size", type=int, default=32)
  parser.add_argument("--tensorflow_intra_op_parallelism", type=int,
                      default=0)
  serving_throughput.add_model_flags(parser)
  args = parser.parse_args()
  root, train_dir, vocab_file, what, images = serving_throughput.set_up(
      args, "im2txt_model_server_")
  base = os.path.join(root, "serving")
  export_dir = os.path.join(base, "1")
  saved_model_export.export_saved_model(train_dir, vocab_file, export_dir)
  print("Model: %s; %d images, one per request" % (what, len(images)))
  direct = _direct(export_dir, images)
  server = serving_testing.ServerProcess(
      base, os.path.join(root, "server.log"), "--enable_batching",
      "--max_batch_size=%d" % args.max_batch_size,
      "--batch_timeout_micros=%d" % args.batch_timeout_micros,
      "--max_enqueued_requests=256",
      "--num_batch_threads=%d" % args.num_batch_threads,
      "--tensorflow_intra_op_parallelism=%d"
      % args.tensorflow_intra_op_parallelism)
  try:
    server.rest_caption(images[:1])  # warm-up
    rows = []
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
      for protocol in ("rest", "grpc"):
        rate, p50, p99, share = _load(server, images, concurrency,
                                      args.requests_per_client, protocol)
        baseline = direct[1] if concurrency == 1 else direct[32]
        rows.append((concurrency, protocol, rate, p50, p99, share, baseline))
        print("  concurrency %d %s: %.2f images/s, p50 %.3f s, p99 %.3f s, "
              "clients %.0f%% of the CPU" % (concurrency, protocol, rate, p50,
                                             p99, 100 * share), flush=True)
  finally:
    server.terminate()
  print("\ndirect signature call: %.2f images/s at batch 1, %.2f at batch 32"
        % (direct[1], direct[32]))
  print("| concurrency | protocol | images/s | p50 s | p99 s | p99/p50 | "
        "clients' CPU share | vs direct (batch 1 / 32) |")
  print("|---|---|---|---|---|---|---|---|")
  for concurrency, protocol, rate, p50, p99, share, baseline in rows:
    print("| %d | %s | %.2f | %.3f | %.3f | %.2f | %.0f%% | %.2fx |" % (
        concurrency, protocol, rate, p50, p99, p99 / p50, 100 * share,
        rate / baseline))


if __name__ == "__main__":
  main()
