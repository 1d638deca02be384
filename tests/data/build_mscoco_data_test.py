"""The build_mscoco_data binary under faults: reruns, hostile files, locks,
killed builders."""

import json
import os
import socket
import subprocess
import sys
import time

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.common import dir_lock
from im2txt.data import captions_metadata
from im2txt.data import mscoco_builder
from im2txt.data import shard_writer
from tests import testing_utils

from tests.data import builder_testing as bt


def _huge_jpeg_header():
  """A small JPEG whose header claims 20000 x 20000 pixels."""
  data = bytearray(bt.jpeg_bytes())
  sof = data.find(b"\xff\xc0")
  data[sof + 5:sof + 9] = (20000).to_bytes(2, "big") * 2  # height, width
  return bytes(data)


def _children(pid):
  """Pids of the live processes whose parent is `pid` (from /proc)."""
  children = []
  for entry in os.listdir("/proc"):
    if entry.isdigit():
      try:
        with open("/proc/%s/stat" % entry) as f:
          fields = f.read().rsplit(")", 1)[1].split()
      except OSError:
        continue
      if fields[0] != "Z" and int(fields[1]) == pid:
        children.append(int(entry))
  return children


def _alive(pid):
  try:
    with open("/proc/%d/stat" % pid) as f:
      return f.read().rsplit(")", 1)[1].split()[0] != "Z"
  except OSError:
    return False


class BuildFaultsTest(bt.BuildCase):
  """Reruns after a change, hostile entries, locks and kills (issue 12)."""

  def _small(self):
    good = bt.jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, good) for i in range(1, 5)],
             [(i, "a red box number %d" % i) for i in range(1, 5)])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    return train, val

  def testRerunWithOtherInputsIsRefusedAndChangesNothing(self):
    train, val = self._small()
    _, out = self._build(train, val)
    before = {n: bt.sha256(os.path.join(out, n)) for n in os.listdir(out)
              if os.path.isfile(os.path.join(out, n))}
    changed = (train[0], train[1] + [(1, "a new caption with new words")])
    with self.assertRaises(mscoco_builder.InputsChangedError) as e:
      self._build(changed, val)
    self.assertIn("train_captions_sha256", str(e.exception))
    self.assertIn("To start over, delete " + out, str(e.exception))
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "min_word_count: was 1, now 2"):
      self._build(train, val, min_word_count=2)
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "train_shards: was 2, now 1"):
      self._build(train, val, train_shards=1)
    after = {n: bt.sha256(os.path.join(out, n)) for n in os.listdir(out)
             if os.path.isfile(os.path.join(out, n))}
    self.assertEqual(before, after)  # Vocabulary and shards untouched.
    self._build(train, val)  # The same inputs again: fine.
    # A directory of shards from a build that recorded no manifest.
    os.remove(os.path.join(out, shard_writer.STATE_DIRNAME,
                           mscoco_builder.MANIFEST_FILENAME))
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "inputs were not recorded"):
      self._build(train, val)

  def testNonRegularFilesAreSkippedNotOpened(self):
    good = bt.jpeg_bytes()
    train = ([(1, "t1.jpg", good), (2, "folder.jpg", None),
              (3, "fifo.jpg", None)],
             [(1, "a red box"), (2, "a folder"), (3, "a pipe")])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    image_dir = os.path.join(self.root, "train2014")
    os.makedirs(os.path.join(image_dir, "folder.jpg"))
    os.mkfifo(os.path.join(image_dir, "fifo.jpg"))
    report, _ = self._build(train, val, parallelism="processes")
    reasons = {os.path.basename(x["file"]): x["reason"]
               for x in report["skipped"]}
    self.assertEqual(reasons["folder.jpg"], "a directory, not an image file")
    self.assertEqual(reasons["fifo.jpg"], "a FIFO, not a regular file")
    self.assertEqual(report["images_skipped"], 2)
    self.assertEqual(report["splits"]["train"]["pairs_written"], 1 + 8)

  def testDuplicateImageEntries(self):
    good = bt.jpeg_bytes()
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    twice = ([(1, "t1.jpg", good), (1, "t1.jpg", good), (2, "t2.jpg", good)],
             [(1, "one caption"), (2, "another caption")])
    report, out = self._build(twice, val)
    self.assertEqual(len(report["duplicate_images"]), 1)
    records = bt.read_split(out, "train", 2)
    self.assertEqual(sorted(r["image_id"] for r in records if r["image_id"]
                            < 100), [1, 2])
    conflict = ([(1, "t1.jpg", good), (1, "t2.jpg", good)],
                [(1, "one caption")])
    with self.assertRaisesRegex(captions_metadata.CaptionsFileError,
                                r"1 image ids are given to two different "
                                r"files.*1 \(t1.jpg, t2.jpg\)"):
      self._build(conflict, val, output="conflict")
    shared = ([(100, "t1.jpg", good)], [(100, "one caption")])
    with self.assertRaisesRegex(captions_metadata.CaptionsFileError,
                                r"1 image ids are in both"):
      self._build(shared, val, output="shared")

  def testFileNamesOutsideTheImageDirectoryAreNotRead(self):
    good = bt.jpeg_bytes()
    secret = os.path.join(self.root, "secret.jpg")
    with open(secret, "wb") as f:
      f.write(bt.jpeg_bytes(color=(1, 2, 3)))
    train = ([(1, "t1.jpg", good), (2, "../secret.jpg", None),
              (3, secret, None), (4, "sub/../../secret.jpg", None)],
             [(i, "caption %d" % i) for i in range(1, 5)])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    report, out = self._build(train, val)
    self.assertEqual(sorted(x["image_id"] for x in
                            report["unsafe_file_names"]), [2, 3, 4])
    records = bt.read_split(out, "train", 2)
    self.assertEqual(sorted(set(r["image_id"] for r in records
                                if r["image_id"] < 100)), [1])
    self.assertEqual(captions_metadata.safe_image_path("/d", "a/b.jpg"),
                     "/d/a/b.jpg")
    self.assertIsNone(captions_metadata.safe_image_path("/d", "gs://b/x"))

  def testLongCaptionsHugeImagesAndTheDecodersReason(self):
    good = bt.jpeg_bytes()
    long_caption = " ".join(["word"] * 500)
    train = ([(1, "t1.jpg", good), (2, "huge.jpg", _huge_jpeg_header()),
              (3, "cut.jpg", good[:len(good) // 2])],
             [(1, "a red box"), (1, long_caption), (2, "huge"),
              (3, "cut")])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    report, _ = self._build(train, val)
    dropped = [x for x in report["dropped_captions"] if x["image_id"] == 1]
    self.assertEqual(len(dropped), 1)
    self.assertEqual(dropped[0]["reason"], "502 tokens, more than 100")
    reasons = {os.path.basename(x["file"]): x["reason"]
               for x in report["skipped"]}
    self.assertIn("400000000 pixels, more than the limit of 50000000",
                  reasons["huge.jpg"])
    self.assertNotIn("Graph execution error", reasons["cut.jpg"])
    self.assertIn("Invalid JPEG data", reasons["cut.jpg"])

  def testSecondBuilderIsRefusedAndStaleLocksAreTakenOver(self):
    train, val = self._small()
    out = os.path.join(self.root, "out")
    with dir_lock.DirectoryLock(out, mscoco_builder.LOCK_FILENAME):
      with self.assertRaisesRegex(dir_lock.LockError,
                                  "in use by another run: pid %d"
                                  % os.getpid()):
        self._build(train, val)
    self.assertFalse(os.path.exists(os.path.join(
        out, mscoco_builder.LOCK_FILENAME)))
    # A lock left by a process that no longer exists.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(os.path.join(out, mscoco_builder.LOCK_FILENAME), "w") as f:
      json.dump({"pid": dead.pid, "host": socket.gethostname()}, f)
    report, _ = self._build(train, val)
    self.assertEqual(report["splits"]["val"]["pairs_written"], 1)
    self.assertFalse(os.path.exists(os.path.join(
        out, mscoco_builder.LOCK_FILENAME)))

  def testKilledBuilderStopsItsWorkerProcesses(self):
    paths = testing_utils.make_tiny_dataset(self.root, num_train_images=40,
                                            num_val_images=20)
    out = os.path.join(self.root, "killed_workers")
    command, env = bt.builder_command(paths, out, "--train_shards=2",
                                    "--num_threads=2",
                                    "--parallelism=processes")
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=testing_utils.REPO_ROOT)
    workers = []
    deadline = time.time() + 120
    while time.time() < deadline and len(workers) < 2:
      workers = [p for p in _children(proc.pid) if "spawn_main" in open(
          "/proc/%d/cmdline" % p).read()]
      time.sleep(0.2)
    self.assertEqual(len(workers), 2, "the builder started no workers")
    proc.kill()
    proc.wait()
    deadline = time.time() + 60
    while time.time() < deadline and any(_alive(p) for p in workers):
      time.sleep(0.2)
    self.assertFalse([p for p in workers if _alive(p)],
                     "worker processes outlived the killed builder")


if __name__ == "__main__":
  tf.test.main()
