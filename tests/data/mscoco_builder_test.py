"""mscoco_builder.build(): splits, records, vocabulary, bad input, parallelism,
atomic resume."""

import contextlib
import io
import json
import os
import subprocess
import time
from unittest import mock

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import image_checks
from im2txt.data import mscoco_builder
from im2txt.data import shard_writer
from im2txt.data import schema
from im2txt.ops import image_processing
from tests import testing_utils

from tests.data import builder_testing as bt


class BuildTest(bt.BuildCase):

  def testSplitsRecordsAndVocabulary(self):
    good = bt.jpeg_bytes()
    train = ([(1, "t1.jpg", good), (2, "t2.jpg", good)],
             [(1, "A dog."), (1, "A brown dog"), (2, "A cat.")])
    # 20 val images: 17 go to train, 1 to val, 2 to test.
    val_images = [(100 + i, "v%d.jpg" % i, good) for i in range(20)]
    val = (val_images, [(100 + i, "A cat") for i in range(20)])
    report, out = self._build(train, val)
    self.assertEqual(report["splits"]["train"]["pairs_written"], 3 + 17)
    self.assertEqual(report["splits"]["val"]["pairs_written"], 1)
    self.assertEqual(report["splits"]["test"]["pairs_written"], 2)
    val_records = bt.read_split(out, "val", 1)
    self.assertEqual([r["image_id"] for r in val_records], [117])
    test_ids = sorted(r["image_id"] for r in bt.read_split(out, "test", 1))
    self.assertEqual(test_ids, [118, 119])
    with open(os.path.join(out, "word_counts.txt"), encoding="utf-8") as f:
      contents = f.read()
    self.assertFalse(contents.endswith("\n"))
    words = [line.split()[0] for line in contents.split("\n")]
    self.assertEqual(words[:4], ["<S>", "a", "</S>", "cat"])
    self.assertNotIn("<UNK>", words)
    train_records = bt.read_split(out, "train", 2)
    self.assertLen(train_records, 20)
    for r in train_records:
      self.assertEqual(r["image"], good)  # JPEG bytes stored unchanged.
      self.assertEqual(r["caption_ids"],
                       [words.index(w) for w in r["caption"]])
    self.assertIn(["<S>", "a", "brown", "dog", "</S>"],
                  [r["caption"] for r in train_records])

  def testBadInputsAreSkippedConvertedOrDroppedAndReported(self):
    good = bt.jpeg_bytes()
    truncated = good[:len(good) // 2]
    png_named_jpg = bt.jpeg_bytes(fmt="PNG")
    cmyk = bt.jpeg_bytes(mode="CMYK", color=(0, 255, 0, 0))
    gray = bt.jpeg_bytes(mode="L", color=128)
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
    records = bt.read_split(out, "train", 1) + bt.read_split(out, "val", 1) + (
        bt.read_split(out, "test", 1))
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
    good = bt.jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, bt.jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(1, 9)] +
             [(20, "truncated.jpg", good[:len(good) // 2]),
              (21, "png.jpg", bt.jpeg_bytes(fmt="PNG")),
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
    all_train = bt.read_split(out_p, "train", 4)
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
    train = ([(i, "t%d.jpg" % i, bt.jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(6)], [(i, "a dog %d" % i) for i in range(6)])
    val = ([(10, "v.jpg", bt.jpeg_bytes())], [(10, "a cat")])
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
    good = bt.jpeg_bytes()
    train_dir, train_json = bt.write_coco(
        self.root, "train2014", [(1, "a.jpg", good)], [(1, "A dog")])
    val_dir, val_json = bt.write_coco(
        self.root, "val2014", [(2, "b.jpg", good)], [(2, "A dog")])
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
    good = bt.jpeg_bytes()
    train = ([(i, "t%d.jpg" % i, bt.jpeg_bytes(color=(i * 20, 0, 0)))
              for i in range(1, 9)],
             [(i, "caption number %d" % (i % 3)) for i in range(1, 9)] * 2)
    val = ([(100 + i, "v%d.jpg" % i, good) for i in range(10)],
           [(100 + i, "a val caption") for i in range(10)])
    _, out_a = self._build(train, val, output="a", train_shards=4)
    _, out_b = self._build(train, val, output="b", train_shards=4)

    def digest(d):
      return {n: bt.sha256(os.path.join(d, n))
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
    command, env = bt.builder_command(paths, out, "--train_shards=64",
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


if __name__ == "__main__":
  tf.test.main()
