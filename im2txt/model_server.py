# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
r"""Serves exported models over TensorFlow Serving's gRPC and REST APIs.

  im2txt-model-server --model_name=im2txt \
    --model_base_path="${MODEL_DIR}/serving" --port=8500 --rest_api_port=8501

The base path holds numbered versions (export_saved_model
--model_base_path writes them); the newest is served, and a new version
that appears is loaded beside it and takes over (see
serving/model_manager.py). The flags keep TensorFlow Serving's names and
meanings where it has them, so that the same clients and the same layout
work with tensorflow_model_server. SIGTERM or Ctrl-C stops accepting
requests, answers those in flight, and exits 0.
"""

import os
import signal
import sys
import threading

from absl import flags

from im2txt.common import cli

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.serving import grpc_api
from im2txt.serving import model_manager
from im2txt.serving import prediction_service
from im2txt.serving import request_scheduler
from im2txt.serving import rest_api
from im2txt.serving import serving_metrics

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("model_name", "im2txt",
                      "Name of the model in requests (/v1/models/<name>, "
                      "ModelSpec.name).")
  flags.DEFINE_string("model_base_path", "",
                      "Folder of the model's numbered versions "
                      "(BASE/<version>/saved_model.pb).")
  flags.DEFINE_integer("port", 8500, "Port of the gRPC API (0: none).",
                       lower_bound=0)
  flags.DEFINE_integer("rest_api_port", 8501,
                       "Port of the REST API (0: none).", lower_bound=0)
  flags.DEFINE_string("host", "0.0.0.0",
                      "Address both APIs listen on (127.0.0.1: this "
                      "machine only).")
  flags.DEFINE_integer("file_system_poll_wait_seconds", 1,
                       "How often the base path is checked for new or "
                       "removed versions.", lower_bound=1)
  flags.DEFINE_boolean("enable_batching", False,
                       "Join the images of concurrent requests into one "
                       "signature call.")
  flags.DEFINE_integer("max_batch_size", 32,
                       "With --enable_batching: most rows (images) per "
                       "call.", lower_bound=1)
  flags.DEFINE_integer("batch_timeout_micros", 0,
                       "With --enable_batching: longest wait for more "
                       "requests after the first, in microseconds; 0: a "
                       "call takes the requests that queued while the "
                       "previous call ran, and a lone request waits for "
                       "nothing.", lower_bound=0)
  flags.DEFINE_integer("num_batch_threads", 1,
                       "Signature calls run at once.", lower_bound=1)
  flags.DEFINE_integer("tensorflow_intra_op_parallelism", 0,
                       "Threads one operation of a signature call may use "
                       "(0: TensorFlow chooses, about the number of cores). "
                       "With --num_batch_threads=N on N cores, 1 lets the "
                       "calls share the cores instead of competing for "
                       "them.", lower_bound=0)
  flags.DEFINE_integer("tensorflow_inter_op_parallelism", 0,
                       "Threads running independent operations of a call "
                       "(0: TensorFlow chooses).", lower_bound=0)
  flags.DEFINE_integer("max_enqueued_requests", 64,
                       "Requests waiting beyond those running; more are "
                       "refused (HTTP 429, gRPC RESOURCE_EXHAUSTED).",
                       lower_bound=1)
  flags.DEFINE_integer("max_request_bytes", 64 * 2 ** 20,
                       "Largest request body (REST) or message (gRPC); "
                       "larger ones are refused before they are decoded.",
                       lower_bound=1)
  flags.DEFINE_integer("rest_api_timeout_in_ms", 300000,
                       "Longest time a request may wait and run.",
                       lower_bound=1)


class Server(object):
  """A running model server (the library behind main())."""

  def __init__(self, model_name, model_base_path, port=8500,
               rest_api_port=8501, host="0.0.0.0", poll_wait_secs=1,
               batching=None, num_batch_threads=1, max_enqueued_requests=64,
               max_request_bytes=64 * 2 ** 20, timeout_secs=300,
               log=None, session_config=None):
    self._log = log or tf.logging.info
    self.metrics = serving_metrics.Metrics()
    self.manager = model_manager.ModelManager(model_name, model_base_path,
                                              session_config=session_config,
                                              log=self._log)
    self.scheduler = request_scheduler.RequestScheduler(
        max_enqueued_requests, num_batch_threads, batching,
        on_batch=lambda rows: self.metrics.batch(model_name, rows))
    self.service = prediction_service.PredictionService(
        self.manager, self.scheduler, self.metrics, timeout_secs)
    self._stop = threading.Event()
    self._poll_wait_secs = poll_wait_secs
    self.grpc_server = self.rest_server = None
    self.grpc_port = self.rest_port = None
    try:
      self.manager.poll()
      if port:
        self.grpc_server, self.grpc_port = grpc_api.start_server(
            self.service, port, max_request_bytes,
            num_batch_threads + max_enqueued_requests, host)
      if rest_api_port:
        self.rest_server = rest_api.RestServer(self.service, rest_api_port,
                                               max_request_bytes, host)
        self.rest_port = self.rest_server.port
    except Exception:
      self.stop()
      raise
    self._poller = threading.Thread(target=self._poll, daemon=True,
                                    name="version-poller")
    self._poller.start()

  def _poll(self):
    while not self._stop.wait(self._poll_wait_secs):
      try:
        self.manager.poll()
      except Exception as e:  # pylint: disable=broad-except
        # A base path that is briefly unreadable must not stop serving.
        self._log("Checking %s for versions failed: %s" % (
            self.manager.base_path, e))

  def stop(self, grace_secs=60):
    """Stops accepting, answers the requests in flight, unloads."""
    self._stop.set()
    if self.rest_server is not None:
      self.rest_server.stop(grace_secs)
    if self.grpc_server is not None:
      self.grpc_server.stop(grace_secs).wait()
    self.scheduler.stop()
    self.manager.close()


def main(argv):
  if len(argv) > 1:
    sys.exit("model_server: error: unexpected arguments %s"
             % " ".join(argv[1:]))
  tf.logging.set_verbosity(tf.logging.INFO)
  base = FLAGS.model_base_path
  if not base:
    sys.exit("model_server: error: pass --model_base_path, the folder of "
             "the model's numbered versions (export_saved_model "
             "--model_base_path writes them).")
  if not os.path.isdir(base) and "://" not in base:
    sys.exit("model_server: error: --model_base_path %s is not a folder."
             % base)
  if not FLAGS.port and not FLAGS.rest_api_port:
    sys.exit("model_server: error: --port and --rest_api_port are both 0: "
             "nothing would be served.")
  batching = None
  if FLAGS.enable_batching:
    batching = request_scheduler.BatchingOptions(FLAGS.max_batch_size,
                                                 FLAGS.batch_timeout_micros)
  stop = threading.Event()
  for signum in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signum, lambda *unused: stop.set())
  try:
    server = Server(
        FLAGS.model_name, base, FLAGS.port, FLAGS.rest_api_port, FLAGS.host,
        FLAGS.file_system_poll_wait_seconds, batching,
        FLAGS.num_batch_threads, FLAGS.max_enqueued_requests,
        FLAGS.max_request_bytes, FLAGS.rest_api_timeout_in_ms / 1000.0,
        session_config=model_manager.threads_config(
            FLAGS.tensorflow_intra_op_parallelism,
            FLAGS.tensorflow_inter_op_parallelism))
  except OSError as e:
    sys.exit("model_server: error: %s" % e)
  version = server.manager.newest_available()
  print("Serving model %s %s; gRPC port %s, REST port %s%s." % (
      FLAGS.model_name,
      "version %d" % version if version else
      "(no version yet: waiting for one under %s)" % base,
      server.grpc_port or "-", server.rest_port or "-",
      ", batching up to %d rows" % FLAGS.max_batch_size if batching else ""),
        flush=True)
  while not stop.wait(1):
    pass
  print("Stopping: answering the requests in flight.", flush=True)
  server.stop()
  print("Stopped.", flush=True)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
