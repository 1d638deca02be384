"""The model server's pieces without a server: the REST JSON format, the
request queue and its batching, and the version layout."""

import base64
import json
import os
import re
import tempfile
import threading
import time
import unittest

import numpy as np

from im2txt.serving import model_manager
from im2txt.serving import model_versions
from im2txt.serving import request_scheduler
from im2txt.serving import rest_format
from im2txt.serving import servable as servable_lib


def _inputs_of(names):
  return lambda key: names


class RestFormatTest(unittest.TestCase):

  def testRowAndColumnFormsWithBinaryValues(self):
    encoded = {"b64": base64.b64encode(b"\xff\xd8jpeg").decode()}
    body = json.dumps({"signature_name": "caption",
                       "instances": [encoded, encoded]}).encode()
    key, inputs, row_form = rest_format.parse_predict(
        body, _inputs_of(["images"]))
    self.assertEqual((key, row_form), ("caption", True))
    self.assertEqual(inputs, {"images": [b"\xff\xd8jpeg"] * 2})
    body = json.dumps({"inputs": {"input_feed": [1, 2],
                                  "state_feed": [[0.5], [1.5]]}}).encode()
    key, inputs, row_form = rest_format.parse_predict(
        body, _inputs_of(["input_feed", "state_feed"]))
    self.assertEqual((key, row_form), ("serving_default", False))
    self.assertEqual(inputs["state_feed"], [[0.5], [1.5]])
    body = json.dumps({"instances": [{"input_feed": 1, "state_feed": [0.5]},
                                     {"input_feed": 2,
                                      "state_feed": [1.5]}]}).encode()
    _, inputs, _ = rest_format.parse_predict(
        body, _inputs_of(["input_feed", "state_feed"]))
    self.assertEqual(inputs, {"input_feed": [1, 2],
                              "state_feed": [[0.5], [1.5]]})

  def testMalformedBodiesAreNamed(self):
    for body, message in (
        (b"\xff", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"instances": [1], "inputs": [1]}', "exactly one of"),
        (b'{"instances": []}', "non-empty list"),
        (b'{"instances": [1], "extra": 2}', "Unknown key(s) in the request: "
                                            "extra"),
        (b'{"instances": [{"a": 1}, 2]}', "mix objects and plain values"),
        (b'{"instances": [{"b64": "@@"}]}', "not valid base64"),
        (b'{"instances": [{"x": {"y": 1}}]}', "must be {\"b64\""),
    ):
      with self.assertRaisesRegex(servable_lib.ServingError,
                                  re.escape(message)):
        rest_format.parse_predict(body, _inputs_of(["x"]))

  def testResponsesInBothForms(self):
    outputs = {"captions": np.array([[b"a dog", b"\xc3\xa9t\xc3\xa9"]],
                                    dtype=object),
               "log_probabilities": np.array([[-1.5, -np.inf]], np.float32),
               "raw_bytes": np.array([b"text"], dtype=object)}
    rows = json.loads(rest_format.format_predict(outputs, True))
    self.assertEqual(rows["predictions"][0]["captions"], ["a dog", "été"])
    self.assertEqual(rows["predictions"][0]["log_probabilities"],
                     [-1.5, float("-inf")])
    # Outputs named *_bytes are always base64.
    self.assertEqual(rows["predictions"][0]["raw_bytes"],
                     {"b64": base64.b64encode(b"text").decode()})
    columns = json.loads(rest_format.format_predict(
        {"status": np.array([b"ok", b"\xff"], dtype=object)}, False))
    self.assertEqual(columns, {"outputs": [
        "ok", {"b64": base64.b64encode(b"\xff").decode()}]})


class _FakeServable(object):
  """A servable whose one signature doubles its rows (a real
  SignatureDef); records the sizes of its calls."""

  def __init__(self, delay=0.0):
    from tensorflow.core.protobuf import meta_graph_pb2  # pylint: disable=g-import-not-at-top
    signature = meta_graph_pb2.SignatureDef()
    info = signature.inputs["x"]
    info.dtype = 1
    info.tensor_shape.dim.add().size = -1
    signature.outputs["y"].dtype = 1
    self.signatures = {"double": signature}
    self.calls = []
    self._delay = delay

  def signature(self, key):
    return key, self.signatures[key]

  def run(self, key, inputs, output_filter=()):
    del key, output_filter
    self.calls.append(len(inputs["x"]))
    time.sleep(self._delay)
    return {"y": inputs["x"] * 2}


class RequestSchedulerTest(unittest.TestCase):

  def testBatchingJoinsRequestsAndSplitsTheirRows(self):
    servable = _FakeServable()
    scheduler = request_scheduler.RequestScheduler(
        max_enqueued=16, batching=request_scheduler.BatchingOptions(
            max_batch_size=6, batch_timeout_micros=200000))
    self.addCleanup(scheduler.stop)
    sizes = [1, 2, 3, 2, 4]
    futures = [scheduler.submit(servable, "double",
                                {"x": np.arange(n, dtype=np.float32) + 10 * i})
               for i, n in enumerate(sizes)]
    for i, (n, future) in enumerate(zip(sizes, futures)):
      np.testing.assert_array_equal(future.result(10)["y"],
                                    (np.arange(n) + 10 * i) * 2)
    self.assertLess(len(servable.calls), len(sizes))
    self.assertLessEqual(max(servable.calls), 6)
    self.assertEqual(sum(servable.calls), sum(sizes))

  def testFullQueueIsRefusedAndStopFinishesTheQueued(self):
    servable = _FakeServable(delay=0.3)
    scheduler = request_scheduler.RequestScheduler(max_enqueued=2)
    first = scheduler.submit(servable, "double", {"x": np.ones(1)})
    time.sleep(0.1)  # The thread took it; two more fit in the queue.
    queued = [scheduler.submit(servable, "double", {"x": np.ones(1)})
              for _ in range(2)]
    with self.assertRaises(servable_lib.ServingError) as caught:
      scheduler.submit(servable, "double", {"x": np.ones(1)})
    self.assertEqual(caught.exception.code, servable_lib.RESOURCE_EXHAUSTED)
    self.assertEqual(caught.exception.http_status, 429)
    stopper = threading.Thread(target=scheduler.stop)
    stopper.start()
    for future in [first] + queued:
      self.assertEqual(future.result(10)["y"].tolist(), [2.0])
    stopper.join(10)
    with self.assertRaises(servable_lib.ServingError) as caught:
      scheduler.submit(servable, "double", {"x": np.ones(1)})
    self.assertEqual(caught.exception.code, servable_lib.UNAVAILABLE)


class ModelVersionsTest(unittest.TestCase):

  def testOnlyCompleteNumberedVersionsCount(self):
    base = tempfile.mkdtemp()
    for name, complete in (("1", True), ("12", True), ("3", False),
                           ("012", True), ("7.tmp-99", True),
                           ("other", True)):
      os.makedirs(os.path.join(base, name))
      if complete:
        open(os.path.join(base, name, "saved_model.pb"), "w").close()
    self.assertEqual(model_versions.versions(base), {
        1: os.path.join(base, "1"), 12: os.path.join(base, "12")})
    self.assertEqual(model_versions.versions(os.path.join(base, "none")), {})
    self.assertEqual(model_versions.version_dir(base, 5),
                     os.path.join(base, "5"))
    for bad in (0, -1, True, "3"):
      with self.assertRaises(model_versions.VersionError):
        model_versions.version_dir(base, bad)


class _LoadedVersion(object):
  """What ModelManager's load_fn returns here: a servable that counts
  requests and records when it was closed."""

  def __init__(self, name, version, folder, session_config=None):
    self.session_config = session_config
    with open(os.path.join(folder, "saved_model.pb")) as f:
      if f.read() == "broken":
        raise IOError("cannot parse %s" % folder)
    self.name, self.version, self.signatures = name, version, {"s": None}
    self.users, self.closing, self.closed = 0, False, False
    self._cond = threading.Condition()

  def acquire(self):
    with self._cond:
      if self.closing:
        return False
      self.users += 1
      return True

  def release(self):
    with self._cond:
      self.users -= 1
      self._cond.notify_all()

  def close(self):
    """As Servable.close: waits for the requests in flight."""
    with self._cond:
      self.closing = True
      self._cond.wait_for(lambda: self.users == 0)
      self.closed = True


class ModelManagerTest(unittest.TestCase):

  def _write(self, base, version, content="ok"):
    folder = os.path.join(base, str(version))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "saved_model.pb"), "w") as f:
      f.write(content)

  def testNewestServesFailuresAndRemovalsAreHandled(self):
    base = tempfile.mkdtemp()
    logs = []
    manager = model_manager.ModelManager("m", base, log=logs.append,
                                         load_fn=_LoadedVersion)
    manager.poll()
    with self.assertRaisesRegex(servable_lib.ServingError,
                                r"Servable not found for request: Latest\(m\)"):
      manager.acquire()
    self._write(base, 1)
    manager.poll()
    in_flight = manager.acquire()
    self.assertEqual(in_flight.version, 1)
    # Version 2 takes over; 1 is unloaded once its request is done.
    self._write(base, 2)
    unloading = threading.Thread(target=manager.poll)
    unloading.start()
    deadline = time.time() + 10
    while manager.newest_available() != 2 and time.time() < deadline:
      time.sleep(0.01)
    newest = manager.acquire()
    self.assertEqual(newest.version, 2)
    newest.release()
    time.sleep(0.2)
    self.assertFalse(in_flight.closed)  # Its request is still running.
    in_flight.release()
    unloading.join(10)
    self.assertTrue(in_flight.closed)
    self.assertEqual({v: s.state for v, s in manager.statuses().items()},
                     {2: "AVAILABLE", 1: "END"})
    # A broken version 3: reported, 2 keeps serving, not retried until
    # its files change.
    self._write(base, 3, "broken")
    manager.poll()
    manager.poll()
    status = manager.statuses()[3]
    self.assertEqual(status.state, "END")
    self.assertIn("cannot parse", status.error)
    self.assertEqual(sum("Version 3 of m failed to load" in l for l in logs), 1)
    manager.acquire(2).release()
    with self.assertRaisesRegex(servable_lib.ServingError,
                                r"Specific\(m, 3\)"):
      manager.acquire(3)
    self._write(base, 3)
    os.utime(os.path.join(base, "3", "saved_model.pb"), (1, 1))
    manager.poll()
    self.assertEqual(manager.newest_available(), 3)
    # Removing the serving version unloads it; the newest left is loaded.
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(os.path.join(base, "3"))
    manager.poll()
    self.assertEqual(manager.newest_available(), 2)
    self.assertEqual(manager.statuses()[3].state, "END")

  def testAtStartABrokenNewestFallsBackToTheNextOlder(self):
    base = tempfile.mkdtemp()
    self._write(base, 1)
    self._write(base, 2, "broken")
    manager = model_manager.ModelManager("m", base, log=lambda m: None,
                                         load_fn=_LoadedVersion)
    manager.poll()
    self.assertEqual(manager.newest_available(), 1)

  def testThreadFlagsReachEveryVersionsSession(self):
    self.assertIsNone(model_manager.threads_config(0, 0))
    config = model_manager.threads_config(1, 3)
    self.assertEqual((config.intra_op_parallelism_threads,
                      config.inter_op_parallelism_threads), (1, 3))
    base = tempfile.mkdtemp()
    manager = model_manager.ModelManager("m", base, session_config=config,
                                         log=lambda m: None,
                                         load_fn=_LoadedVersion)
    for version in (1, 2):
      self._write(base, version)
      manager.poll()
      self.assertIs(manager._loaded[version].session_config, config)  # pylint: disable=protected-access


if __name__ == "__main__":
  unittest.main()
