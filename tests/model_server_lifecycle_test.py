"""im2txt-model-server over time, on real server processes: a new version
taking over under load, a broken version refused, kill -9 and restart,
SIGTERM during requests, and overload."""

import os
import shutil
import sys
import threading
import time

import numpy as np
import pytest

from im2txt.captioning import captioner
from im2txt.serving import servable as servable_lib
from tests import serving_testing
from tests import testing_utils

pytestmark = pytest.mark.slow


class ModelServerLifecycleTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.images = [encoded for _, encoded, _ in
                  captioner.images_from_records(cls.paths["test_pattern"])]

  def _server(self, base, *flags):
    server = serving_testing.ServerProcess(
        base, os.path.join(self.root, os.path.basename(base) + ".log"),
        *flags)
    self.addCleanup(server.kill)
    return server

  def _in_process(self, export_dir, images):
    servable = servable_lib.Servable("im2txt", 1, export_dir)
    try:
      return servable.run("caption", servable.check_inputs(
          "caption", {"images": images}))["captions"]
    finally:
      servable.close()

  def testNewVersionTakesOverUnderLoadAndABrokenOneIsRefused(self):
    base = os.path.join(self.root, "swap")
    vocab = self.paths["vocab_file"]
    first = serving_testing.export_version(self.train_dir, 0, vocab, base, 1)
    server = self._server(base, "--file_system_poll_wait_seconds=1")
    images = self.images[:2]
    answers, errors, stop = [], [], threading.Event()

    def client():
      stub = server.grpc_stub()
      while not stop.is_set():
        try:
          answers.append(server.grpc_caption(images, stub))
        except Exception as e:  # pylint: disable=broad-except
          errors.append(e)

    clients = [threading.Thread(target=client) for _ in range(2)]
    for thread in clients:
      thread.start()
    try:
      while len(answers) < 4 and not errors:
        time.sleep(0.1)
      # Version 2: the model trained further, exported while clients ask.
      second = serving_testing.export_version(self.train_dir, 40, vocab,
                                              base, 2)
      deadline = time.time() + 180
      while time.time() < deadline and not errors and not any(
          v == 2 for v, _ in answers[-3:]):
        time.sleep(0.2)
      served = len(answers)
      while len(answers) < served + 4 and not errors:
        time.sleep(0.1)
    finally:
      stop.set()
      for thread in clients:
        thread.join(120)
    self.assertEqual(errors, [])
    versions = [v for v, _ in answers]
    self.assertEqual(versions[0], 1)
    self.assertEqual(versions[-1], 2)
    # Once version 2 answered, version 1 no longer did.
    self.assertEqual(sorted(set(versions[versions.index(2):])), [2])
    want = {1: self._in_process(first, images),
            2: self._in_process(second, images)}
    self.assertFalse(np.array_equal(want[1], want[2]))
    for version, outputs in answers:
      np.testing.assert_array_equal(outputs["captions"], want[version])
    server.wait_for_log("Version 1 of im2txt is unloaded")

    # Version 3 with truncated variables: refused, 2 keeps serving.
    staging = os.path.join(self.root, "broken")
    shutil.copytree(second, staging)
    variables = os.path.join(staging, "variables")
    data = max((os.path.join(variables, n) for n in os.listdir(variables)
                if ".data-" in n), key=os.path.getsize)
    with open(data, "r+b") as f:
      f.truncate(os.path.getsize(data) // 2)
    os.rename(staging, os.path.join(base, "3"))
    server.wait_for_log("Version 3 of im2txt failed to load")
    status, body = server.rest("/v1/models/im2txt")
    self.assertEqual(status, 200)
    states = {int(v["version"]): v for v in body["model_version_status"]}
    self.assertEqual(states[3]["state"], "END")
    self.assertNotEqual(states[3]["status"]["error_message"], "")
    self.assertEqual(states[2]["state"], "AVAILABLE")
    self.assertEqual(server.grpc_caption(images)[0], 2)

    # kill -9, then the same command: serves version 2 again.
    server.kill()
    server.start()
    version, outputs = server.grpc_caption(images)
    self.assertEqual(version, 2)
    np.testing.assert_array_equal(outputs["captions"], want[2])

  def testSigtermAnswersTheRequestsInFlightAndExitsZero(self):
    base = os.path.join(self.root, "sigterm")
    serving_testing.export_version(self.train_dir, 40,
                                   self.paths["vocab_file"], base, 0)
    server = self._server(base)
    images = [self.images[i % len(self.images)] for i in range(24)]
    results = []
    thread = threading.Thread(
        target=lambda: results.append(server.grpc_caption(images)))
    thread.start()
    time.sleep(1.0)  # The request is being answered.
    self.assertEqual(server.terminate(), 0)
    thread.join(60)
    self.assertEqual(len(results), 1)
    self.assertEqual(results[0][1]["status"].tolist(), [b"ok"] * 24)
    self.assertIn("Stopping: answering the requests in flight.", server.log())
    self.assertIn("Stopped.", server.log())

  def testOverloadIsRefusedWith429(self):
    base = os.path.join(self.root, "overload")
    serving_testing.export_version(self.train_dir, 40,
                                   self.paths["vocab_file"], base, 0)
    server = self._server(base, "--max_enqueued_requests=1",
                          "--num_batch_threads=1")
    images = [self.images[i % len(self.images)] for i in range(12)]
    server.rest_caption(images[:1])  # Warm up.
    before = server.rss_mb()
    statuses, lock = [], threading.Lock()

    def client():
      for _ in range(2):
        status, body = server.rest_caption(images)
        with lock:
          statuses.append((status, body if status != 200 else None))

    clients = [threading.Thread(target=client) for _ in range(10)]
    for thread in clients:
      thread.start()
    for thread in clients:
      thread.join(300)
    codes = sorted({s for s, _ in statuses})
    self.assertEqual(len(statuses), 20)
    self.assertEqual(codes, [200, 429], statuses)
    refused = [b for s, b in statuses if s == 429]
    self.assertIn("The request queue is full", refused[0]["error"])
    # Still answering, and its memory did not grow with the crowd.
    self.assertEqual(server.rest_caption(images[:1])[0], 200)
    self.assertLess(server.rss_mb() - before, 500)


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
