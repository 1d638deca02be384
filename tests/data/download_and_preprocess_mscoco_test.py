"""The download script against a local HTTP server laid out as MSCOCO's host.

The server (127.0.0.1 only) serves zips/train2014.zip, zips/val2014.zip and
annotations/annotations_trainval2014.zip made from the demo generator,
supports HTTP range requests like the real host, and can be told to cut a
response short or to fail.
"""

import collections
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import zipfile

import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import demo_data
from im2txt.data import schema
from tests import testing_utils

pytestmark = pytest.mark.slow

SCRIPT = os.path.join(testing_utils.REPO_ROOT, "data",
                      "download_and_preprocess_mscoco.sh")


def _zip_tree(zip_path, root, folder):
  with zipfile.ZipFile(zip_path, "w") as z:
    for name in sorted(os.listdir(os.path.join(root, folder))):
      z.write(os.path.join(root, folder, name), os.path.join(folder, name))


class _Handler(http.server.BaseHTTPRequestHandler):
  """Serves files from server.root with Range support and injected faults."""

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    """Serves the test's files, counting requests."""
    server = self.server
    server.requests.append((self.path, self.headers.get("Range")))
    path = os.path.join(server.root, self.path.lstrip("/"))
    if self.path in server.fail_paths or not os.path.isfile(path):
      self.send_error(404)
      return
    with open(path, "rb") as f:
      data = f.read()
    start = 0
    range_header = self.headers.get("Range")
    if range_header:
      start = int(range_header.split("=")[1].split("-")[0])
      if start >= len(data):
        self.send_response(416)
        self.send_header("Content-Range", "bytes */%d" % len(data))
        self.end_headers()
        return
      self.send_response(206)
      self.send_header("Content-Range",
                       "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
    else:
      self.send_response(200)
    self.send_header("Content-Length", str(len(data) - start))
    self.send_header("Content-Type", "application/zip")
    self.end_headers()
    body = data[start:]
    cut = server.cut_after.pop(self.path, None)
    if cut is not None:
      self.wfile.write(body[:cut])
      self.wfile.flush()
      self.close_connection = True
      return
    self.wfile.write(body)


class DownloadAndPreprocessTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.root = tempfile.mkdtemp()
    raw = os.path.join(cls.root, "source")
    demo_data.generate(raw, num_train_images=12, num_val_images=40,
                       image_size=(64, 48), seed=3)
    served = os.path.join(cls.root, "served")
    os.makedirs(os.path.join(served, "zips"))
    os.makedirs(os.path.join(served, "annotations"))
    _zip_tree(os.path.join(served, "zips", "train2014.zip"), raw, "train2014")
    _zip_tree(os.path.join(served, "zips", "val2014.zip"), raw, "val2014")
    _zip_tree(os.path.join(served, "annotations",
                           "annotations_trainval2014.zip"), raw, "annotations")
    cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    cls.server.root = served
    cls.server.requests = []
    cls.server.fail_paths = set()
    cls.server.cut_after = {}
    cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
    cls.thread.start()
    cls.base_url = "http://127.0.0.1:%d" % cls.server.server_address[1]

  @classmethod
  def tearDownClass(cls):
    cls.server.shutdown()
    cls.server.server_close()
    shutil.rmtree(cls.root)

  def setUp(self):
    self.server.requests.clear()
    self.server.fail_paths.clear()
    self.server.cut_after.clear()

  def _run(self, data_dir):
    # As a user with the virtualenv activated.
    env = dict(os.environ, MSCOCO_BASE_URL=self.base_url,
               PYTHONPATH=testing_utils.REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2",
               PATH=os.path.dirname(sys.executable) + os.pathsep +
               os.environ["PATH"])
    env.pop("IM2TXT_BUILD_MSCOCO_DATA", None)
    return subprocess.run(
        ["bash", SCRIPT, data_dir, "--train_shards=2", "--val_shards=1",
         "--test_shards=2", "--num_threads=2", "--min_word_count=1"],
        env=env, capture_output=True, text=True, timeout=600)

  def testDownloadBuildAndNoRepeat(self):
    data_dir = os.path.join(self.root, "out_ok")
    # The first response for train2014.zip breaks off midway: wget resumes.
    self.server.cut_after["/zips/train2014.zip"] = 2000
    result = self._run(data_dir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("Finished processing all", result.stdout)
    ranges = [r for p, r in self.server.requests if p == "/zips/train2014.zip"]
    self.assertGreaterEqual(len(ranges), 2)
    self.assertEqual(ranges[-1], "bytes=2000-")

    with open(os.path.join(data_dir, "word_counts.txt")) as f:
      num_words = len(f.read().split("\n"))
    counts = collections.Counter()
    for name, num_shards in (("train", 2), ("val", 1), ("test", 2)):
      files = sorted(tf.gfile.Glob(os.path.join(
          data_dir, "%s-?????-of-%05d" % (name, num_shards))))
      self.assertEqual(len(files), num_shards)
      for path in files:
        for serialized in tf.io.tf_record_iterator(path):
          record = schema.parse_sequence_example_proto(serialized)
          self.assertTrue(record["image"].startswith(b"\xff\xd8\xff"))
          self.assertLessEqual(max(record["caption_ids"]), num_words)
          counts[name] += 1
    # 12 train images + 34 of 40 val images (85%), 2 val (5%), 4 test (10%),
    # five captions each.
    self.assertEqual(dict(counts), {"train": 5 * 46, "val": 10, "test": 20})

    # A second run downloads nothing and gives the same vocabulary.
    self.server.requests.clear()
    result = self._run(data_dir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertEqual(self.server.requests, [])
    self.assertIn("Already downloaded", result.stdout)

  def testFailedDownloadStopsBeforeBuilding(self):
    data_dir = os.path.join(self.root, "out_fail")
    self.server.fail_paths.add("/zips/val2014.zip")
    result = self._run(data_dir)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("failed to download %s/zips/val2014.zip" % self.base_url,
                  result.stderr)
    self.assertFalse([n for n in os.listdir(data_dir)
                      if n.startswith(("train-", "val-", "test-", "word_"))])
    # Fixed server, same command: completes without fetching train again.
    self.server.fail_paths.clear()
    self.server.requests.clear()
    result = self._run(data_dir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertNotIn("/zips/train2014.zip",
                     [p for p, _ in self.server.requests])

  def testNotAZipIsRejected(self):
    data_dir = os.path.join(self.root, "out_bad_zip")
    bad = os.path.join(self.server.root, "bad")
    os.makedirs(os.path.join(bad, "zips"), exist_ok=True)
    with open(os.path.join(bad, "zips", "train2014.zip"), "w") as f:
      f.write("<html>moved</html>")
    env = dict(os.environ, MSCOCO_BASE_URL=self.base_url + "/bad",
               PYTHONPATH=testing_utils.REPO_ROOT)
    result = subprocess.run(["bash", SCRIPT, data_dir], env=env,
                            capture_output=True, text=True, timeout=120)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("did not give a valid zip archive", result.stderr)

  def testUsage(self):
    result = subprocess.run(["bash", SCRIPT], capture_output=True, text=True)
    self.assertEqual(result.returncode, 1)
    self.assertIn("usage: download_and_preprocess_mscoco.sh DATA_DIR",
                  result.stderr)


if __name__ == "__main__":
  unittest.main()
