"""im2txt-model-server's APIs on a real server process: REST and gRPC
answers, metadata and status, refusals, and batching."""

import base64
import json
import os
import re
import sys
import threading
import urllib.request

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.serving import servable as servable_lib
from tests import serving_testing
from tests import testing_utils

pytestmark = pytest.mark.slow

MODEL = serving_testing.MODEL


def _signature_in_process(export_dir, images):
  """The caption signature's outputs, run in this process."""
  servable = servable_lib.Servable(MODEL, 1, export_dir)
  try:
    return servable.run("caption", servable.check_inputs(
        "caption", {"images": images}))
  finally:
    servable.close()


class ModelServerTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS
  MAX_REQUEST_BYTES = 400000

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.base = os.path.join(cls.root, "serving")
    cls.export_dir = serving_testing.export_version(
        cls.train_dir, cls.TRAIN_STEPS, cls.paths["vocab_file"], cls.base, 0)
    cls.images = [encoded for _, encoded, _ in
                  captioner.images_from_records(cls.paths["test_pattern"])]
    # Batching with a long wait, so that concurrent requests meet.
    cls.server = serving_testing.ServerProcess(
        cls.base, os.path.join(cls.root, "server.log"), "--enable_batching",
        "--max_batch_size=8", "--batch_timeout_micros=300000",
        "--max_request_bytes=%d" % cls.MAX_REQUEST_BYTES,
        "--tensorflow_intra_op_parallelism=1",
        "--tensorflow_inter_op_parallelism=2")

  @classmethod
  def tearDownClass(cls):
    cls.server.kill()
    super().tearDownClass()

  def testExportedAsTheCheckpointsVersion(self):
    self.assertEqual(self.export_dir, os.path.join(self.base, "40"))
    self.assertEqual(sorted(os.listdir(self.base)), ["40"])

  def testRestAndGrpcAnswerAsTheSignatureAndRunInference(self):
    images = self.images[:3] + [b"", b"<html>not an image</html>"]
    want = _signature_in_process(self.export_dir, images)
    self.assertEqual([s.decode() for s in want["status"]],
                     ["ok"] * 3 + ["empty", "not_jpeg_or_png"])
    version, got = self.server.grpc_caption(images)
    self.assertEqual(version, 40)
    for name in ("captions", "word_ids", "lengths", "status"):
      np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    np.testing.assert_allclose(got["log_probabilities"],
                               want["log_probabilities"], rtol=1e-6)
    # REST, row form: one object per image.
    status, body = self.server.rest_caption(images)
    self.assertEqual(status, 200, body)
    rows = body["predictions"]
    self.assertEqual([r["status"] for r in rows],
                     [s.decode() for s in want["status"]])
    self.assertEqual([r["captions"] for r in rows],
                     [[c.decode() for c in row] for row in want["captions"]])
    self.assertEqual([r["word_ids"] for r in rows], want["word_ids"].tolist())
    np.testing.assert_allclose(
        [r["log_probabilities"] for r in rows], want["log_probabilities"],
        rtol=1e-6)
    # REST, column form, one output asked for through the default
    # signature (serving_default is caption).
    status, body = self.server.rest(
        "/v1/models/%s/versions/40:predict" % MODEL,
        {"inputs": {"images": [{"b64": base64.b64encode(
            i).decode()} for i in images]}})
    self.assertEqual(status, 200, body)
    self.assertEqual(body["outputs"]["captions"],
                     [[c.decode() for c in row] for row in want["captions"]])
    # run_inference prints the same captions for the good images.
    files = []
    for i, encoded in enumerate(images[:3]):
      files.append(os.path.join(self.root, "image%d.jpg" % i))
      with open(files[-1], "wb") as f:
        f.write(encoded)
    result = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + ",".join(files)])
    printed = [line.split(") ", 1)[1].rsplit(" (p=", 1)[0]
               for line in result.stdout.splitlines() if line.startswith(" ")]
    self.assertEqual(printed, [c for r in rows[:3] for c in r["captions"]])

  def testTheTwoStepSignaturesAreServedToo(self):
    # initial_state (column form) then step (row form, two inputs), against
    # the same signatures run in this process.
    images = self.images[:2]
    servable = servable_lib.Servable(MODEL, 1, self.export_dir)
    try:
      want_state = servable.run("initial_state", servable.check_inputs(
          "initial_state", {"images": images}))["initial_state"]
      feed = {"input_feed": np.array([1, 2], np.int64),
              "state_feed": want_state}
      want_step = servable.run("step", servable.check_inputs("step", feed))
    finally:
      servable.close()
    status, body = self.server.rest(
        "/v1/models/%s:predict" % MODEL,
        {"signature_name": "initial_state",
         "inputs": [{"b64": base64.b64encode(i).decode()} for i in images]})
    self.assertEqual(status, 200, body)
    np.testing.assert_allclose(body["outputs"], want_state, rtol=1e-5,
                               atol=1e-6)
    status, body = self.server.rest(
        "/v1/models/%s:predict" % MODEL,
        {"signature_name": "step", "instances": [
            {"input_feed": int(f), "state_feed": s.tolist()}
            for f, s in zip(feed["input_feed"], want_state)]})
    self.assertEqual(status, 200, body)
    self.assertEqual(len(body["predictions"]), 2)
    np.testing.assert_allclose([p["softmax"] for p in body["predictions"]],
                               want_step["softmax"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose([p["state"] for p in body["predictions"]],
                               want_step["state"], rtol=1e-5, atol=1e-6)

  def testMetadataStatusAndMetrics(self):
    status, body = self.server.rest("/v1/models/%s/metadata" % MODEL)
    self.assertEqual(status, 200, body)
    self.assertEqual(body["model_spec"]["version"], "40")
    signatures = body["metadata"]["signature_def"]["signature_def"]
    self.assertLessEqual({"caption", "initial_state", "step"},
                         set(signatures))
    self.assertEqual(sorted(signatures["step"]["inputs"]),
                     ["input_feed", "state_feed"])
    status, body = self.server.rest("/v1/models/%s" % MODEL)
    self.assertEqual((status, body), (200, {"model_version_status": [{
        "version": "40", "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""}}]}))
    channel = grpc.insecure_channel("127.0.0.1:%d" % self.server.grpc_port)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        request, timeout=60)
    self.assertEqual([(v.version, v.state) for v in
                      response.model_version_status],
                     [(40, get_model_status_pb2.ModelVersionStatus.AVAILABLE)])
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = MODEL
    request.metadata_field.append("signature_def")
    response = self.server.grpc_stub().GetModelMetadata(request, timeout=60)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    self.assertEqual(set(signature_map.signature_def), set(signatures))
    with urllib.request.urlopen("http://127.0.0.1:%d/monitoring/prometheus/"
                                "metrics" % self.server.rest_port) as r:
      text = r.read().decode()
    self.assertIn(":tensorflow:serving:request_count_total{", text)
    self.assertIn(":tensorflow:serving:request_latency_bucket{", text)

  def testBadRequestsGetTheirStatusAndName(self):
    good = {"signature_name": "caption",
            "instances": [{"b64": "AAAA"}]}
    cases = [
        ("/v1/models/%s:predict" % MODEL, b"{not json", 400, "not valid JSON"),
        ("/v1/models/%s:predict" % MODEL, json.dumps([1]).encode(), 400,
         "must be a JSON object"),
        ("/v1/models/other:predict", json.dumps(good).encode(), 404,
         "Servable not found for request: Latest(other)"),
        ("/v1/models/%s/versions/7:predict" % MODEL, json.dumps(good).encode(),
         404, "Servable not found for request: Specific(%s, 7)" % MODEL),
        ("/v1/models/%s:predict" % MODEL, json.dumps(dict(
            good, signature_name="nope")).encode(), 400,
         "Serving signature name: \"nope\" not found"),
        ("/v1/models/%s:predict" % MODEL, json.dumps(
            {"instances": [1.5, 2]}).encode(), 400,
         "Input \"images\" of signature \"serving_default\" must be string"),
        ("/v1/models/%s:predict" % MODEL, json.dumps(
            {"inputs": {"images": [["a"]]}}).encode(), 400,
         "has shape [1, 1]; it takes [-1]"),
        ("/v1/models/%s:predict" % MODEL, json.dumps(
            {"signature_name": "step", "instances": [{"input_feed": 1}]}
        ).encode(), 400, "Instance 0 has the input(s) input_feed"),
        ("/v1/models/%s:predict" % MODEL, json.dumps(
            {"instances": [{"b64": "%%%"}]}).encode(), 400,
         "not valid base64"),
        ("/v2/whatever", b"{}", 404, "Malformed request: POST /v2/whatever"),
        ("/v1/models/%s:predict" % MODEL,
         b"x" * (self.MAX_REQUEST_BYTES + 1), 413,
         "more than the server's limit of %d" % self.MAX_REQUEST_BYTES),
    ]
    for path, raw, want_status, want_message in cases:
      status, body = self.server.rest(path, raw=raw)
      self.assertEqual(status, want_status, (path, raw[:60], body))
      self.assertIn(want_message, body["error"], (path, raw[:60]))
    # gRPC: a wrong dtype and an unknown model.
    stub = self.server.grpc_stub()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["images"].CopyFrom(tf.make_tensor_proto([1.0]))
    with self.assertRaises(grpc.RpcError) as caught:
      stub.Predict(request, timeout=60)
    self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
    self.assertIn("must be string, but float32 was given",
                  caught.exception.details())
    request.model_spec.name = "other"
    with self.assertRaises(grpc.RpcError) as caught:
      stub.Predict(request, timeout=60)
    self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
    # A gRPC message over --max_request_bytes: refused by grpcio.
    request.model_spec.name = MODEL
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(
        np.array([b"x" * (self.MAX_REQUEST_BYTES + 1)], dtype=object)))
    with self.assertRaises(grpc.RpcError) as caught:
      stub.Predict(request, timeout=60)
    self.assertEqual(caught.exception.code(),
                     grpc.StatusCode.RESOURCE_EXHAUSTED)
    # None of it stopped the server.
    version, outputs = self.server.grpc_caption(self.images[:1])
    self.assertEqual((version, outputs["status"].tolist()), (40, [b"ok"]))

  def testBurstOfRestClientsIsServed(self):
    # 32 connections at once: more than socketserver's default listen
    # backlog of 5, which reset connections of such a burst.
    statuses = []

    def send():
      statuses.append(self.server.rest_caption(self.images[:1])[0])

    threads = [threading.Thread(target=send) for _ in range(32)]
    for thread in threads:
      thread.start()
    for thread in threads:
      thread.join(300)
    self.assertEqual(statuses, [200] * 32)

  def testConcurrentRequestsAreBatchedEachGettingItsRows(self):
    def calls():
      with urllib.request.urlopen("http://127.0.0.1:%d/monitoring/prometheus/"
                                  "metrics" % self.server.rest_port) as r:
        text = r.read().decode()
      found = [float(m) for m in re.findall(
          r"processed_batch_size_count\{[^}]*\} ([\d.]+)", text)]
      return sum(found)

    sizes = [1, 2, 3, 2, 1]
    requests = [[self.images[(i + j) % len(self.images)] for j in range(n)]
                for i, n in enumerate(sizes)]
    alone = [_signature_in_process(self.export_dir, r) for r in requests]
    before = calls()
    answers = [None] * len(requests)

    def send(i):
      answers[i] = self.server.grpc_caption(requests[i])[1]

    threads = [threading.Thread(target=send, args=(i,))
               for i in range(len(requests))]
    for thread in threads:
      thread.start()
    for thread in threads:
      thread.join(120)
    for want, got in zip(alone, answers):
      self.assertIsNotNone(got)
      np.testing.assert_array_equal(got["captions"], want["captions"])
      np.testing.assert_array_equal(got["status"], want["status"])
      np.testing.assert_allclose(got["log_probabilities"],
                                 want["log_probabilities"], rtol=1e-5)
    # Nine images of five requests, at most eight per call: fewer calls
    # than requests.
    self.assertLess(calls() - before, len(requests))


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
