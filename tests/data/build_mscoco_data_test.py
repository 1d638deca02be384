"""Tests of the MSCOCO builder: split, records, bad input, atomic resume."""

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from unittest import mock

from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import dir_lock
from im2txt.data import captions_metadata
from im2txt.data import image_checks
from im2txt.data import karpathy_split
from im2txt.data import mscoco_builder
from im2txt.data import shard_writer
from im2txt.data import schema
from im2txt.ops import image_processing
from tests import testing_utils


def _jpeg_bytes(mode="RGB", size=(40, 30), color=(200, 20, 20), fmt="JPEG"):
  image = Image.new(mode, size, color)
  buffer = io.BytesIO()
  image.save(buffer, fmt)
  return buffer.getvalue()


def _write_coco(root, split, images, captions):
  """images: list of (image_id, file_name, bytes or None); captions: list of
  (image_id, caption)."""
  image_dir = os.path.join(root, split)
  os.makedirs(image_dir, exist_ok=True)
  for _, file_name, data in images:
    if data is not None:
      with open(os.path.join(image_dir, file_name), "wb") as f:
        f.write(data)
  path = os.path.join(root, "captions_%s.json" % split)
  with open(path, "w", encoding="utf-8") as f:
    json.dump({
        "images": [{"id": i, "file_name": n} for i, n, _ in images],
        "annotations": [{"id": k, "image_id": i, "caption": c}
                        for k, (i, c) in enumerate(captions)],
    }, f, ensure_ascii=False)
  return image_dir, path


def _read_split(output_dir, name, num_shards):
  records = []
  for shard in range(num_shards):
    path = os.path.join(output_dir, shard_writer.shard_name(
        name, shard, num_shards))
    records.extend(schema.parse_sequence_example_proto(r)
                   for r in tf.io.tf_record_iterator(path))
  return records


def _sha256(path):
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


class SplitTest(tf.test.TestCase):

  def testValSplitArithmeticOfMscoco(self):
    val = list(range(40504))
    train_part, val_part, test_part = captions_metadata.split_val_images(val)
    self.assertEqual((len(train_part), len(val_part), len(test_part)),
                     (34428, 2025, 4051))
    self.assertEqual(val_part[0], 34428)
    self.assertEqual(test_part[0], 36453)

  def testThreadRangesAreContiguous(self):
    self.assertEqual(shard_writer.thread_ranges(10, 3),
                     [[0, 3], [3, 6], [6, 10]])

  def testShardNames(self):
    self.assertEqual(shard_writer.shard_name("train", 3, 256),
                     "train-00003-of-00256")

  def testShardThreadCheck(self):
    shard_writer.check_shards_and_threads(8, train_shards=256,
                                               val_shards=4, test_shards=8)
    with self.assertRaisesRegex(ValueError, "train_shards"):
      shard_writer.check_shards_and_threads(3, train_shards=256,
                                                 val_shards=2, test_shards=2)


class _BuildCase(tf.test.TestCase):
  """A temporary root, and _build() of two captions files into it."""

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)

  def _build(self, train, val, output="out", **kwargs):
    train_dir, train_json = _write_coco(self.root, "train2014", *train)
    val_dir, val_json = _write_coco(self.root, "val2014", *val)
    output_dir = os.path.join(self.root, output)
    args = dict(train_image_dir=train_dir, val_image_dir=val_dir,
                train_captions_file=train_json, val_captions_file=val_json,
                output_dir=output_dir,
                word_counts_output_file=os.path.join(output_dir,
                                                     "word_counts.txt"),
                train_shards=2, val_shards=1, test_shards=1, num_threads=2,
                min_word_count=1)
    args.update(kwargs)
    return mscoco_builder.build(**args), output_dir


class BuildTest(_BuildCase):

  def testSplitsRecordsAndVocabulary(self):
    good = _jpeg_bytes()
    train = ([(1, "t1.jpg", good), (2, "t2.jpg", good)],
             [(1, "A dog."), (1, "A brown dog"), (2, "A cat.")])
    # 20 val images: 17 go to train, 1 to val, 2 to test.
    val_images = [(100 + i, "v%d.jpg" % i, good) for i in range(20)]
    val = (val_images, [(100 + i, "A cat") for i in range(20)])
    report, out = self._build(train, val)
    self.assertEqual(report["splits"]["train"]["pairs_written"], 3 + 17)
    self.assertEqual(report["splits"]["val"]["pairs_written"], 1)
    self.assertEqual(report["splits"]["test"]["pairs_written"], 2)
    val_records = _read_split(out, "val", 1)
    self.assertEqual([r["image_id"] for r in val_records], [117])
    test_ids = sorted(r["image_id"] for r in _read_split(out, "test", 1))
    self.assertEqual(test_ids, [118, 119])
    with open(os.path.join(out, "word_counts.txt"), encoding="utf-8") as f:
      contents = f.read()
    self.assertFalse(contents.endswith("\n"))
    words = [line.split()[0] for line in contents.split("\n")]
    self.assertEqual(words[:4], ["<S>", "a", "</S>", "cat"])
    self.assertNotIn("<UNK>", words)
    train_records = _read_split(out, "train", 2)
    self.assertLen(train_records, 20)
    for r in train_records:
      self.assertEqual(r["image"], good)  # JPEG bytes stored unchanged.
      self.assertEqual(r["caption_ids"],
                       [words.index(w) for w in r["caption"]])
    self.assertIn(["<S>", "a", "brown", "dog", "</S>"],
                  [r["caption"] for r in train_records])

  def testBadInputsAreSkippedConvertedOrDroppedAndReported(self):
    good = _jpeg_bytes()
    truncated = good[:len(good) // 2]
    png_named_jpg = _jpeg_bytes(fmt="PNG")
    cmyk = _jpeg_bytes(mode="CMYK", color=(0, 255, 0, 0))
    gray = _jpeg_bytes(mode="L", color=128)
    train = ([(1, "good.jpg", good), (2, "truncated.jpg", truncated),
              (3, "png.jpg", png_named_jpg), (4, "cmyk.jpg", cmyk),
              (5, "gray.jpg", gray), (6, "missing.jpg", None),
              (7, "text.jpg", b"this is not an image"),
              (8, "hindi.jpg", good), (9, "nocaption.jpg", good)],
             [(1, "A red box"), (1, "   "), (1, ""), (2, "A broken image"),
              (3, "A png image"), (4, "A cmyk image"), (5, "A gray image"),
              (6, "A missing image"), (7, "Not an image"),
              (8, "एक लाल डिब्बा"), (8, "A red box"), (999, "No such image")])
    val = ([(100, "v.jpg", good)], [(100, "A red box")])
    report, out = self._build(train, val, train_shards=1, num_threads=1)

    skipped = {os.path.basename(x["file"]): x["reason"]
               for x in report["skipped"]}
    self.assertEqual(sorted(skipped), ["missing.jpg", "text.jpg",
                                       "truncated.jpg"])
    self.assertIn("file not found", skipped["missing.jpg"])
    self.assertIn("not a JPEG, PNG", skipped["text.jpg"])
    self.assertIn("invalid JPEG", skipped["truncated.jpg"])
    self.assertEqual(report["images_skipped"], 3)
    self.assertEqual(report["pairs_skipped"], 3)
    self.assertEqual([os.path.basename(f) for f in report["images_converted"]],
                     ["png.jpg"])
    self.assertLen(report["dropped_captions"], 2)
    self.assertEqual([x["image_id"] for x in report["orphan_annotations"]],
                     [999])
    self.assertEqual([
        os.path.basename(x["file"]) for x in report["images_without_captions"]
    ], ["nocaption.jpg"])
    on_disk = testing_utils.read_json(os.path.join(out, "build_report.json"))
    self.assertEqual(on_disk["images_skipped"], 3)

    # Every written record decodes through the model's own preprocessing.
    records = _read_split(out, "train", 1) + _read_split(out, "val", 1) + (
        _read_split(out, "test", 1))
    self.assertLen(records, 7 + 1 - 1)  # 1 val image, which lands in test.
    by_caption = {" ".join(r["caption"][1:-1]): r for r in records}
    self.assertIn("एक लाल डिब्बा", by_caption)
    png_record = by_caption["a png image"]
    self.assertEqual(png_record["image"][:3], b"\xff\xd8\xff")
    self.assertEqual(by_caption["a cmyk image"]["image"], cmyk)
    with tf.Graph().as_default():
      feed = tf.placeholder(tf.string, [])
      image = image_processing.process_image(feed, is_training=False,
                                             height=20, width=20,
                                             resize_height=24, resize_width=24)
      with self.session() as sess:
        for r in records:
          self.assertEqual(sess.run(image, {feed: r["image"]}).shape,
                           (20, 20, 3))
        # CMYK magenta comes out magenta, in [-1, 1] scale.
        pixel = sess.run(image, {feed: by_caption["a cmyk image"]["image"]})[10,
                                                                             10]
        self.assertAllClose(pixel, [1.0, -1.0, 1.0], atol=0.1)

  def testWorkerProcessesWriteWhatThreadsWrite(self):
    good = _jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, _jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(1, 9)] +
             [(20, "truncated.jpg", good[:len(good) // 2]),
              (21, "png.jpg", _jpeg_bytes(fmt="PNG")),
              (22, "missing.jpg", None), (23, "hindi.jpg", good)],
             [(i, "caption number %d" % (i % 3)) for i in range(1, 9)] * 3 +
             [(20, "A broken image"), (21, "A png image"),
              (22, "A missing image"), (23, "एक लाल डिब्बा"), (23, "  ")])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    report_t, out_t = self._build(train, val, output="threads",
                                  train_shards=4, num_threads=2)
    report_p, out_p = self._build(train, val, output="processes",
                                  train_shards=4, num_threads=2,
                                  parallelism="processes")

    def contents(d):
      return {n: open(os.path.join(d, n), "rb").read()
              for n in sorted(os.listdir(d))
              if not n.startswith(".") and n != "build_report.json"}

    def without_paths(report):
      report = json.loads(json.dumps(report))
      del report["vocabulary"]["file"]
      for item in report["skipped"] + report["dropped_captions"]:
        item["file"] = os.path.basename(item["file"])
      report["images_converted"] = [os.path.basename(f)
                                    for f in report["images_converted"]]
      return report

    self.assertEqual(contents(out_p), contents(out_t))
    self.assertLen([n for n in contents(out_p) if n.startswith("train-")], 4)
    self.assertEqual(without_paths(report_p), without_paths(report_t))
    self.assertEqual(report_p["pairs_skipped"], 2)
    self.assertEqual(len(report_p["images_converted"]), 1)
    # A resumed build in worker processes keeps complete shards and
    # rewrites the missing one byte for byte, checking only its images.
    all_train = _read_split(out_p, "train", 4)
    in_shard = set(r["image_id"] for r in [
        schema.parse_sequence_example_proto(x)
        for x in tf.io.tf_record_iterator(
            os.path.join(out_p, "train-00001-of-00004"))
    ])
    os.remove(os.path.join(out_p, "train-00001-of-00004"))
    cache = image_checks.ImageCache()
    self._build(train, val, output="processes", train_shards=4,
                num_threads=2, parallelism="processes", cache=cache)
    self.assertEqual(contents(out_p), contents(out_t))
    checked = cache.entries()
    self.assertGreater(len(in_shard), 0)
    self.assertLess(len(in_shard), len(set(r["image_id"] for r in all_train)))
    self.assertLessEqual(len(checked), len(in_shard) + 2)  # + skipped ones
    self.assertGreater(len(checked), 0)

  def testAutoParallelismChoosesByTheNumberOfImages(self):
    limit = mscoco_builder.AUTO_PROCESSES_MIN_IMAGES
    self.assertEqual(mscoco_builder.choose_parallelism("auto", limit - 1),
                     "threads")
    self.assertEqual(mscoco_builder.choose_parallelism("auto", limit),
                     "processes")
    self.assertEqual(mscoco_builder.choose_parallelism("threads", 10 ** 6),
                     "threads")
    self.assertEqual(mscoco_builder.choose_parallelism("processes", 1),
                     "processes")
    train = ([(i, "t%d.jpg" % i, _jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(6)], [(i, "a dog %d" % i) for i in range(6)])
    val = ([(10, "v.jpg", _jpeg_bytes())], [(10, "a cat")])
    for minimum, expected in ((7, "Workers: 2 processes."),
                              (8, "Workers: 2 threads.")):
      out = io.StringIO()
      with mock.patch.object(mscoco_builder, "AUTO_PROCESSES_MIN_IMAGES",
                             minimum), contextlib.redirect_stdout(out):
        self._build(train, val, output="auto%d" % minimum)
      self.assertIn(expected, out.getvalue())

  def testUnknownParallelismIsRefused(self):
    with self.assertRaisesRegex(ValueError, "parallelism must be one of"):
      mscoco_builder.build("a", "b", "c", "d", "e", "f",
                              parallelism="fibers")

  def testMalformedCaptionsJsonWritesNothing(self):
    good = _jpeg_bytes()
    train_dir, train_json = _write_coco(self.root, "train2014",
                                        [(1, "a.jpg", good)], [(1, "A dog")])
    val_dir, val_json = _write_coco(self.root, "val2014", [(2, "b.jpg", good)],
                                    [(2, "A dog")])
    out = os.path.join(self.root, "out")
    cases = {
        ('{"images": [{"id": 1, "file_name": "a.jpg"}], '
         '"annotations": ['): "not valid JSON",
        '[1, 2]': "expected a JSON object",
        '{"images": []}': "missing list 'annotations'",
        '{"images": [{"id": "1"}], "annotations": []}': "images[0]",
        '{"images": [], "annotations": [{"image_id": 1}]}': "annotations[0]",
    }
    for text, message in cases.items():
      with open(val_json, "w") as f:
        f.write(text)
      result = testing_utils.run_module(
          "im2txt.data.build_mscoco_data",
          ["--train_image_dir=" + train_dir, "--val_image_dir=" + val_dir,
           "--train_captions_file=" + train_json,
           "--val_captions_file=" + val_json, "--output_dir=" + out,
           "--word_counts_output_file=" + os.path.join(out, "wc.txt")],
          check=False, timeout=120)
      self.assertEqual(result.returncode, 1, result.stderr)
      self.assertIn(val_json, result.stderr)
      self.assertIn(message, result.stderr)
      self.assertFalse(os.path.exists(out))

  def testRerunKeepsCompleteShardsAndGivesTheSameOutput(self):
    good = _jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, _jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(1, 9)],
             [(i, "caption number %d" % (i % 3)) for i in range(1, 9)] * 2)
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    _, out_a = self._build(train, val, output="a", train_shards=4)
    _, out_b = self._build(train, val, output="b", train_shards=4)

    def digest(d):
      return {n: _sha256(os.path.join(d, n))
              for n in sorted(os.listdir(d))
              if not n.startswith(".") and n != "build_report.json"}

    self.assertEqual(digest(out_a), digest(out_b))
    report_b = testing_utils.read_json(os.path.join(out_b, "build_report.json"))
    # Simulate a kill: one shard gone, one temporary file left behind.
    os.remove(os.path.join(out_b, "train-00002-of-00004"))
    with open(os.path.join(out_b, "train-00003-of-00004.tmp-123"), "wb") as f:
      f.write(b"partial")
    mtime = os.path.getmtime(os.path.join(out_b, "train-00000-of-00004"))
    time.sleep(0.05)
    self._build(train, val, output="b", train_shards=4)
    # The rerun removed the dead run's temporary file.
    self.assertFalse(os.path.exists(
        os.path.join(out_b, "train-00003-of-00004.tmp-123")))
    self.assertEqual(digest(out_a), digest(out_b))
    self.assertEqual(
        testing_utils.read_json(os.path.join(out_b, "build_report.json")),
        report_b)
    self.assertEqual(
        os.path.getmtime(os.path.join(out_b, "train-00000-of-00004")), mtime)

  def testKilledBuilderLeavesNoPartialShard(self):
    paths = testing_utils.make_tiny_dataset(self.root, num_train_images=4,
                                            num_val_images=10)
    out = os.path.join(self.root, "killed")
    command, env = _builder_command(paths, out, "--train_shards=64",
                                    "--num_threads=1")
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd=testing_utils.REPO_ROOT)
    # Kill it once it has written a few shards.
    deadline = time.time() + 120
    while time.time() < deadline:
      line = proc.stdout.readline().decode()
      if "train-00003-of-00064" in line or not line:
        break
    proc.kill()
    proc.wait()
    for name in os.listdir(out):
      if name.startswith("train-") and ".tmp-" not in name:
        shard_records = list(tf.io.tf_record_iterator(os.path.join(out, name)))
        for r in shard_records:
          schema.parse_sequence_example_proto(r)
        self.assertTrue(os.path.exists(os.path.join(
            out, shard_writer.STATE_DIRNAME, name + ".json")), name)


def _write_split_file(root, entries):
  """entries: (cocoid, split, file name); a dataset_coco.json-format file."""
  path = os.path.join(root, "dataset_coco.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"dataset": "coco", "images": [
        {"cocoid": cocoid, "split": split, "filename": name, "imgid": i,
         "filepath": "val2014" if "v" in name else "train2014",
         "sentences": [], "sentids": []}
        for i, (cocoid, split, name) in enumerate(entries)]}, f)
  return path


class KarpathySplitTest(_BuildCase):
  """--split_file: the pairs of each split are the file's, the vocabulary
  comes from train + restval only."""

  def _data(self):
    good = _jpeg_bytes()
    train = ([(1, "t1.jpg", good), (2, "t2.jpg", good), (3, "t3.jpg", good)],
             [(1, "A dog."), (1, "A brown dog"), (2, "A cat."),
              (3, "A bird")])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(6)],
           [(100, "A restval zebra"), (101, "A val giraffe"),
            (102, "A test walrus"), (103, "A test walrus again"),
            (104, "A restval cat"), (105, "A val cat")])
    entries = [(1, "train", "t1.jpg"), (2, "train", "t2.jpg"),
               (3, "restval", "t3.jpg"), (100, "restval", "v0.jpg"),
               (104, "restval", "v4.jpg"), (101, "val", "v1.jpg"),
               (105, "val", "v5.jpg"), (102, "test", "v2.jpg"),
               (103, "test", "v3.jpg")]
    return train, val, entries

  def _pairs(self, out, name, num_shards):
    return sorted((r["image_id"], " ".join(r["caption"][1:-1]))
                  for r in _read_split(out, name, num_shards))

  def testPairsPerSplitAreTheFilesAndVocabularyIsTrainOnly(self):
    train, val, entries = self._data()
    split_file = _write_split_file(self.root, entries)
    report, out = self._build(train, val, split_file=split_file)
    captions = dict()
    for image_id, caption in train[1] + val[1]:
      captions.setdefault(image_id, []).append(
          " ".join(captions_metadata.tokenize_captions(
              [caption], "<S>", "</S>")[0][1:-1]))
    for name, splits, shards in (("train", ("train", "restval"), 2),
                                 ("val", ("val",), 1), ("test", ("test",), 1)):
      want = sorted((cocoid, c) for cocoid, split, _ in entries
                    if split in splits for c in captions[cocoid])
      self.assertEqual(self._pairs(out, name, shards), want, name)
    with open(os.path.join(out, "word_counts.txt"), encoding="utf-8") as f:
      words = {line.split()[0] for line in f.read().split("\n")}
    self.assertIn("zebra", words)  # restval trains
    self.assertIn("bird", words)
    for word in ("giraffe", "walrus"):  # val and test do not
      self.assertNotIn(word, words)
    self.assertEqual(report["split"], "split file")
    self.assertEqual(report["splits"]["test"]["images"], 2)
    self.assertEqual(report["not_in_split_file"], [])

  def testMissingAndUnlistedImagesAreCountedAndReported(self):
    train, val, entries = self._data()
    entries = [e for e in entries if e[0] != 105]  # 105 left unlisted
    entries.append((999, "test", "COCO_val2014_000000000999.jpg"))
    split_file = _write_split_file(self.root, entries)
    report, out = self._build(train, val, split_file=split_file)
    self.assertEqual([x["image_id"] for x in report["not_in_split_file"]],
                     [105])
    self.assertEqual(report["split_images_not_found"], [
        {"cocoid": 999, "split": "test",
         "filename": "COCO_val2014_000000000999.jpg"}])
    self.assertEqual(sorted(r for r, _ in self._pairs(out, "val", 1)), [101])

  def testBadSplitFilesAreRefusedBeforeWriting(self):
    train, val, entries = self._data()
    cases = [
        (entries + [(101, "test", "v1.jpg")],
         r"image 101 is in two splits, 'val' and 'test'"),
        (entries[:3] + [(102, "testing", "v2.jpg")],
         r"images\[3\] \(cocoid 102\) has the unknown split 'testing'; "
         r"expected one of train, restval, val, test"),
    ]
    for bad, message in cases:
      split_file = _write_split_file(self.root, bad)
      with self.assertRaisesRegex(karpathy_split.SplitFileError, message):
        self._build(train, val, output="bad", split_file=split_file)
      self.assertFalse(os.path.exists(os.path.join(self.root, "bad")))
    not_json = os.path.join(self.root, "notes.json")
    with open(not_json, "w") as f:
      f.write("{\"images\": 3}")
    with self.assertRaisesRegex(karpathy_split.SplitFileError,
                                "is not a dataset_coco.json split file"):
      self._build(train, val, output="bad", split_file=not_json)
    # Repeated identical entries are merged, not refused.
    split_file = _write_split_file(self.root, entries + entries[:2])
    report, _ = self._build(train, val, output="twice",
                            split_file=split_file)
    self.assertEqual(report["splits"]["train"]["images"], 5)

  def testRerunWithAnotherSplitFileIsRefused(self):
    train, val, entries = self._data()
    first = _write_split_file(self.root, entries)
    self._build(train, val, split_file=first)
    other = os.path.join(self.root, "other.json")
    shutil.copy(first, other)
    with open(other, "a") as f:
      f.write(" ")
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "split_file"):
      self._build(train, val, split_file=other)
    # The original split on the same output is refused too.
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "split_file"):
      self._build(train, val)


def _huge_jpeg_header():
  """A small JPEG whose header claims 20000 x 20000 pixels."""
  data = bytearray(_jpeg_bytes())
  sof = data.find(b"\xff\xc0")
  data[sof + 5:sof + 9] = (20000).to_bytes(2, "big") * 2  # height, width
  return bytes(data)


def _builder_command(paths, out, *extra):
  """(argv, env) of the builder as a subprocess on make_tiny_dataset paths."""
  return testing_utils.module_command("im2txt.data.build_mscoco_data", [
      "--train_image_dir=" + paths["train_image_dir"],
      "--val_image_dir=" + paths["val_image_dir"],
      "--train_captions_file=" + paths["train_captions_file"],
      "--val_captions_file=" + paths["val_captions_file"],
      "--output_dir=" + out, "--word_counts_output_file=" + out + "/wc.txt",
      "--val_shards=1", "--test_shards=1"] + list(extra))


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


class BuildFaultsTest(_BuildCase):
  """Reruns after a change, hostile entries, locks and kills (issue 12)."""

  def _small(self):
    good = _jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, good) for i in range(1, 5)],
             [(i, "a red box number %d" % i) for i in range(1, 5)])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    return train, val

  def testRerunWithOtherInputsIsRefusedAndChangesNothing(self):
    train, val = self._small()
    _, out = self._build(train, val)
    before = {n: _sha256(os.path.join(out, n)) for n in os.listdir(out)
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
    after = {n: _sha256(os.path.join(out, n)) for n in os.listdir(out)
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
    good = _jpeg_bytes()
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
    good = _jpeg_bytes()
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    twice = ([(1, "t1.jpg", good), (1, "t1.jpg", good), (2, "t2.jpg", good)],
             [(1, "one caption"), (2, "another caption")])
    report, out = self._build(twice, val)
    self.assertEqual(len(report["duplicate_images"]), 1)
    records = _read_split(out, "train", 2)
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
    good = _jpeg_bytes()
    secret = os.path.join(self.root, "secret.jpg")
    with open(secret, "wb") as f:
      f.write(_jpeg_bytes(color=(1, 2, 3)))
    train = ([(1, "t1.jpg", good), (2, "../secret.jpg", None),
              (3, secret, None), (4, "sub/../../secret.jpg", None)],
             [(i, "caption %d" % i) for i in range(1, 5)])
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    report, out = self._build(train, val)
    self.assertEqual(sorted(x["image_id"] for x in
                            report["unsafe_file_names"]), [2, 3, 4])
    records = _read_split(out, "train", 2)
    self.assertEqual(sorted(set(r["image_id"] for r in records
                                if r["image_id"] < 100)), [1])
    self.assertEqual(captions_metadata.safe_image_path("/d", "a/b.jpg"),
                     "/d/a/b.jpg")
    self.assertIsNone(captions_metadata.safe_image_path("/d", "gs://b/x"))

  def testLongCaptionsHugeImagesAndTheDecodersReason(self):
    good = _jpeg_bytes()
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
    command, env = _builder_command(paths, out, "--train_shards=2",
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
