"""The builder with Karpathy's split file (--karpathy_split_file)."""

import json
import os
import shutil

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import captions_metadata
from im2txt.data import karpathy_split
from im2txt.data import mscoco_builder

from tests.data import builder_testing as bt


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


class KarpathySplitTest(bt.BuildCase):
  """--split_file: the pairs of each split are the file's, the vocabulary
  comes from train + restval only."""

  def _data(self):
    good = bt.jpeg_bytes()
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
                  for r in bt.read_split(out, name, num_shards))

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


if __name__ == "__main__":
  tf.test.main()
