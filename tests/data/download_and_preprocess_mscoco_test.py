"""The download script against a local HTTP server laid out as MSCOCO's host.

The server (127.0.0.1 only) serves zips/train2014.zip, zips/val2014.zip and
annotations/annotations_trainval2014.zip made from the demo generator,
supports HTTP range requests like the real host, and can be told to cut a
response short or to fail.
"""

import collections
import hashlib
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


def _size_and_md5(path):
  with open(path, "rb") as f:
    data = f.read()
  return len(data), hashlib.md5(data).hexdigest()


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
    # The served archives' sizes and MD5s, as the script's override file.
    cls.checksums = os.path.join(cls.root, "checksums.txt")
    with open(cls.checksums, "w") as f:
      for folder in ("zips", "annotations"):
        for name in sorted(os.listdir(os.path.join(served, folder))):
          f.write("%s %d %s\n" % (name, *_size_and_md5(
              os.path.join(served, folder, name))))
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

  def _run(self, data_dir, base_url=None, checksums=None):
    # As a user with the virtualenv activated.
    env = dict(os.environ, MSCOCO_BASE_URL=base_url or self.base_url,
               MSCOCO_CHECKSUMS_FILE=checksums or self.checksums,
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

  def testChecksumMismatchStopsBeforeBuilding(self):
    data_dir = os.path.join(self.root, "out_md5")
    wrong = os.path.join(self.root, "wrong_checksums.txt")
    with open(self.checksums) as f:
      lines = f.read().splitlines()
    with open(wrong, "w") as f:
      for line in lines:
        name, size, md5 = line.split()
        if name == "val2014.zip":
          md5 = "0" * 32
        f.write("%s %s %s\n" % (name, size, md5))
    result = self._run(data_dir, checksums=wrong)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("/zips/val2014.zip has MD5 ", result.stderr)
    self.assertIn("not %s of val2014.zip" % ("0" * 32), result.stderr)
    raw = os.path.join(data_dir, "raw-data")
    self.assertFalse(os.path.exists(os.path.join(raw, "val2014.zip")))
    self.assertFalse(os.path.exists(os.path.join(raw, "val2014.zip.part")))
    self.assertFalse([n for n in os.listdir(data_dir)
                      if n.startswith(("train-", "word_"))])

  def testMembersOutsideTheDataDirectoryAreRefused(self):
    for case, member in (("symlink", "annotations/link"),
                         ("traversal", "../../escaped.txt")):
      served = os.path.join(self.server.root, case)
      os.makedirs(os.path.join(served, "zips"), exist_ok=True)
      os.makedirs(os.path.join(served, "annotations"), exist_ok=True)
      for name in ("train2014.zip", "val2014.zip"):
        shutil.copy(os.path.join(self.server.root, "zips", name),
                    os.path.join(served, "zips", name))
      evil = os.path.join(served, "annotations",
                          "annotations_trainval2014.zip")
      shutil.copy(os.path.join(self.server.root, "annotations",
                               "annotations_trainval2014.zip"), evil)
      with zipfile.ZipFile(evil, "a") as z:
        info = zipfile.ZipInfo(member)
        if case == "symlink":
          info.external_attr = 0o120777 << 16
          z.writestr(info, "/etc")
        else:
          z.writestr(info, "written outside")
      checksums = os.path.join(self.root, case + "_checksums.txt")
      with open(checksums, "w") as f:
        for folder in ("zips", "annotations"):
          for name in os.listdir(os.path.join(served, folder)):
            f.write("%s %d %s\n" % (name, *_size_and_md5(
                os.path.join(served, folder, name))))
      data_dir = os.path.join(self.root, "out_" + case, "data")
      result = self._run(data_dir, base_url=self.base_url + "/" + case,
                         checksums=checksums)
      self.assertNotEqual(result.returncode, 0, case)
      self.assertIn("refused or could not unzip", result.stderr)
      self.assertIn("symbolic link" if case == "symlink" else
                    "would land outside", result.stderr)
      self.assertFalse(os.path.exists(os.path.join(
          self.root, "out_" + case, "escaped.txt")))
      self.assertFalse(os.path.lexists(os.path.join(
          data_dir, "raw-data", "annotations", "link")))
      self.assertFalse([n for n in os.listdir(data_dir)
                        if n.startswith(("train-", "word_"))])

  def testHttpsByDefault(self):
    fake_bin = os.path.join(self.root, "fake_bin")
    os.makedirs(fake_bin, exist_ok=True)
    log = os.path.join(self.root, "wget_args.txt")
    with open(os.path.join(fake_bin, "wget"), "w") as f:
      f.write("#!/bin/bash\necho \"$@\" >> %s\nexit 4\n" % log)
    os.chmod(os.path.join(fake_bin, "wget"), 0o755)
    env = dict(os.environ, PATH=fake_bin + os.pathsep + os.environ["PATH"])
    env.pop("MSCOCO_BASE_URL", None)
    result = subprocess.run(["bash", SCRIPT, os.path.join(self.root,
                                                          "out_https")],
                            env=env, capture_output=True, text=True,
                            timeout=60)
    self.assertNotEqual(result.returncode, 0)
    with open(log) as f:
      args = f.read()
    self.assertIn("https://s3.amazonaws.com/images.cocodataset.org/zips/"
                  "train2014.zip", args)

  def testUsage(self):
    result = subprocess.run(["bash", SCRIPT], capture_output=True, text=True)
    self.assertEqual(result.returncode, 1)
    self.assertIn("usage: download_and_preprocess_mscoco.sh DATA_DIR",
                  result.stderr)


if __name__ == "__main__":
  unittest.main()
