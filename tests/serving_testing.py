"""Real model servers for tests: a server process on 127.0.0.1 with free
ports, and REST and gRPC (tensorflow-serving-api's stub) clients."""

import base64
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.serving import saved_model_export
from im2txt.training import launcher
from tests import testing_utils

MODEL = "im2txt"


def export_version(train_dir, checkpoint_step, vocab_file, base, version):
  """Exports model.ckpt-<step> of train_dir as BASE/<version>; its path."""
  checkpoint = os.path.join(train_dir, "model.ckpt-%d" % checkpoint_step)
  source = saved_model_export.load_for_export(checkpoint, vocab_file)
  export_dir = saved_model_export.version_export_dir(base, version, source)
  saved_model_export.export_saved_model(checkpoint, vocab_file, export_dir,
                                        source=source)
  return export_dir


class ServerProcess(object):
  """`python -m im2txt.model_server` on 127.0.0.1 with free ports."""

  def __init__(self, base, log_path, *flags):
    self.grpc_port, self.rest_port = launcher.free_ports(2)
    self.base = base
    self.log_path = log_path
    self._flags = list(flags)
    self.proc = None
    self.start()

  def start(self):
    command, env = testing_utils.module_command("im2txt.model_server", [
        "--model_base_path=" + self.base, "--host=127.0.0.1",
        "--port=%d" % self.grpc_port, "--rest_api_port=%d" % self.rest_port,
        ] + self._flags)
    start = len(self.log()) if os.path.exists(self.log_path) else 0
    with open(self.log_path, "a") as log:
      self.proc = subprocess.Popen(command, env=env, stdout=log,
                                   stderr=subprocess.STDOUT,
                                   cwd=testing_utils.REPO_ROOT)
    self.wait_for_log(r"Serving model %s" % MODEL, since=start)

  def log(self):
    with open(self.log_path, errors="replace") as f:
      return f.read()

  def wait_for_log(self, pattern, timeout=180, since=0):
    """Waits for `pattern` in the log (from character `since` on)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
      if re.search(pattern, self.log()[since:]):
        return
      if self.proc.poll() is not None:
        raise AssertionError("the server exited (%d) before %r:\n%s" % (
            self.proc.returncode, pattern, self.log()[-3000:]))
      time.sleep(0.2)
    raise AssertionError("no %r within %d s:\n%s" % (pattern, timeout,
                                                     self.log()[-3000:]))

  def terminate(self, timeout=120):
    """SIGTERM; returns the exit code."""
    self.proc.send_signal(signal.SIGTERM)
    return self.proc.wait(timeout)

  def kill(self):
    if self.proc is not None and self.proc.poll() is None:
      self.proc.kill()
      self.proc.wait()

  def rss_mb(self):
    with open("/proc/%d/status" % self.proc.pid) as f:
      for line in f:
        if line.startswith("VmRSS:"):
          return int(line.split()[1]) / 1024.0
    return 0.0

  # -- Clients.

  def rest(self, path, body=None, raw=None, headers=None, timeout=120):
    """(HTTP status, parsed JSON or text) of GET (no body) or POST."""
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (self.rest_port, path), data=data,
        headers=headers or {}, method="POST" if data is not None else "GET")
    try:
      with urllib.request.urlopen(request, timeout=timeout) as response:
        status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as e:
      status, text = e.code, e.read().decode()
    try:
      return status, json.loads(text)
    except ValueError:
      return status, text

  def rest_caption(self, images, version=None, **kwargs):
    path = "/v1/models/%s%s:predict" % (
        MODEL, "/versions/%d" % version if version else "")
    return self.rest(path, {"signature_name": "caption", "instances": [
        {"b64": base64.b64encode(i).decode()} for i in images]}, **kwargs)

  def grpc_stub(self):
    channel = grpc.insecure_channel("127.0.0.1:%d" % self.grpc_port)
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)

  def grpc_caption(self, images, stub=None, timeout=120):
    """(version, {output: array}) of the caption signature over gRPC."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = "caption"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(
        np.array(images, dtype=object)))
    response = (stub or self.grpc_stub()).Predict(request, timeout=timeout)
    return response.model_spec.version.value, {
        name: tf.make_ndarray(proto)
        for name, proto in response.outputs.items()}
