"""The builder on other data than MSCOCO: Karpathy's Flickr files, JSON
lines and CSV, other languages, and a vocabulary grown from a base one."""

import collections
import csv
import json
import os
import unicodedata

from im2txt.data import build_manifest
from im2txt.data import caption_files
from im2txt.data import captions_metadata
from im2txt.data import mscoco_builder
from im2txt.data import shard_writer
from im2txt.data import tokenizers
from im2txt.data import vocab_builder
from tests import testing_utils
from tests.data import builder_testing

COLORS = [(200, 20, 20), (20, 200, 20), (20, 20, 200), (200, 200, 20),
          (20, 200, 200), (200, 20, 200), (120, 120, 120), (250, 250, 250)]


def _word(word):
  return word.decode("utf-8") if isinstance(word, bytes) else word


def _pairs(records):
  """{(image_id, caption text)} of parsed records."""
  return collections.Counter(
      (r["image_id"], " ".join(_word(w) for w in r["caption"][1:-1]))
      for r in records)


class OwnDataCase(builder_testing.BuildCase):
  """Images and captions files written by the test, built into a root."""

  def _images(self, names, folder="images"):
    image_dir = os.path.join(self.root, folder)
    for i, name in enumerate(names):
      path = os.path.join(image_dir, name)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      with open(path, "wb") as f:
        f.write(builder_testing.jpeg_bytes(color=COLORS[i % len(COLORS)]))
    return image_dir

  def _write(self, name, text):
    path = os.path.join(self.root, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
      f.write(text)
    return path

  def _build_own(self, input_format, captions_file, image_dir, output="out",
                 **kwargs):
    output_dir = os.path.join(self.root, output)
    args = dict(train_image_dir="", val_image_dir="", train_captions_file="",
                val_captions_file="", output_dir=output_dir,
                word_counts_output_file=os.path.join(output_dir,
                                                     "word_counts.txt"),
                train_shards=1, val_shards=1, test_shards=1, num_threads=1,
                min_word_count=1, input_format=input_format,
                captions_file=captions_file, image_dir=image_dir)
    args.update(kwargs)
    report = mscoco_builder.build(**args)
    splits = {name: builder_testing.read_split(output_dir, name, 1)
              for name in ("train", "val", "test")}
    return report, splits, output_dir


class FormatsTest(OwnDataCase):

  def testKarpathyFlickrFileWithItsSplits(self):
    entries = [
        ("a.jpg", None, "train", ["A dog runs.", "A brown dog runs fast."]),
        ("b.jpg", None, "restval", ["Two cats sleep."]),
        ("c.jpg", "sub", "val", ["A red car."]),
        ("d.jpg", None, "test", ["A child, smiling.", "A kid smiles."]),
    ]
    image_dir = self._images(["a.jpg", "b.jpg", "sub/c.jpg", "d.jpg"])
    images = []
    for name, path, split, raws in entries:
      entry = {"filename": name, "split": split, "imgid": len(images),
               "sentences": [{"raw": r, "tokens": r.lower().split()}
                             for r in raws]}
      if path:
        entry["filepath"] = path
      images.append(entry)
    captions_file = self._write("dataset_flickr8k.json", json.dumps(
        {"images": images, "dataset": "flickr8k"}))
    report, splits, output_dir = self._build_own("karpathy", captions_file,
                                                 image_dir)
    tokenizer = tokenizers.Tokenizer()
    expected = {"train": collections.Counter(), "val": collections.Counter(),
                "test": collections.Counter()}
    for image_id, (_, _, split, raws) in enumerate(entries, start=1):
      for raw in raws:
        expected[caption_files.SPLIT_NAMES[split]][
            (image_id, " ".join(tokenizer.words(raw)))] += 1
    for name, pairs in expected.items():
      self.assertEqual(_pairs(splits[name]), pairs, name)
    self.assertEqual(report["images"], [
        {"image_id": 1, "file_name": "a.jpg", "split": "train"},
        {"image_id": 2, "file_name": "b.jpg", "split": "train"},
        {"image_id": 3, "file_name": "sub/c.jpg", "split": "val"},
        {"image_id": 4, "file_name": "d.jpg", "split": "test"}])
    self.assertEqual(report["input_format"], "karpathy")
    # The vocabulary counts the training captions (train + restval) only.
    counts = dict(line.split() for line in open(
        os.path.join(output_dir, "word_counts.txt"), encoding="utf-8"))
    self.assertEqual(counts["dog"], "2")
    self.assertEqual(counts["cats"], "1")
    self.assertEqual(counts["<S>"], "3")
    self.assertNotIn("car", counts)

  def testJsonLinesWithoutSplitsAreDividedByFractions(self):
    names = ["img%02d.jpg" % i for i in range(40)]
    image_dir = self._images(names)
    lines = []
    for i, name in enumerate(names):
      for k in range(2):
        lines.append(json.dumps({"image": name,
                                 "caption": "picture %d view %d" % (i, k)}))
    lines.insert(5, "")  # Blank lines are skipped.
    captions_file = self._write("captions.jsonl", "\n".join(lines) + "\n")
    report, splits, _ = self._build_own("jsonl", captions_file, image_dir,
                                        val_fraction=0.1, test_fraction=0.2)
    ids = {name: set(r["image_id"] for r in records)
           for name, records in splits.items()}
    self.assertEqual([len(ids[n]) for n in ("train", "val", "test")],
                     [28, 4, 8])
    self.assertEqual(ids["train"] | ids["val"] | ids["test"],
                     set(range(1, 41)))
    self.assertEqual(sum(len(r) for r in splits.values()), 80)
    self.assertEqual(report["splits"]["val"]["pairs_written"], 8)
    # The division is fixed: a second build gives the same split.
    _, again, _ = self._build_own("jsonl", captions_file, image_dir,
                                  output="out2", val_fraction=0.1,
                                  test_fraction=0.2)
    self.assertEqual({n: set(r["image_id"] for r in records)
                      for n, records in again.items()}, ids)

  def testCsvWithAndWithoutSplitsAndAByteOrderMark(self):
    image_dir = self._images(["x.jpg", "y.jpg", "z.jpg", "w.jpg"])
    rows = [("x.jpg", "a cat, on a mat", "test"),
            ("y.jpg", "a dog \"barking\"", "train"),
            ("y.jpg", "the dog again", "train"),
            ("z.jpg", "no split here", ""),
            ("w.jpg", "nor here", "")]
    path = os.path.join(self.root, "captions.csv")
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(["split", "caption", "image", "photographer"])
      for image, caption, split in rows:
        writer.writerow([split, caption, image, "someone"])
    report, splits, _ = self._build_own("csv", path, image_dir,
                                        val_fraction=0.0, test_fraction=0.0)
    self.assertEqual(_pairs(splits["test"]),
                     collections.Counter({(1, "a cat , on a mat"): 1}))
    self.assertEqual(set(r["image_id"] for r in splits["train"]),
                     {2, 3, 4})
    self.assertEqual(len(splits["val"]), 0)
    self.assertEqual(report["splits"]["train"]["pairs_written"], 4)

  def testBadFilesAreRefusedOrReportedAsForMscoco(self):
    image_dir = self._images(["a.jpg", "b.jpg"])
    cases = [
        ("csv", "missing.csv", "image,text\na.jpg,a dog\n",
         r"missing\.csv: the header row has no column 'caption' \(it names "
         r"'image', 'text'\)"),
        ("jsonl", "split.jsonl",
         '{"image": "a.jpg", "caption": "x", "split": "training"}\n',
         r"split\.jsonl: line 1 has the unknown split 'training'; the split "
         r"names are train, restval, val, test"),
        ("jsonl", "twice.jsonl",
         '{"image": "a.jpg", "caption": "x", "split": "train"}\n'
         '{"image": "a.jpg", "caption": "y", "split": "test"}\n',
         r"twice\.jsonl: line 2 puts a\.jpg in split test, an earlier entry "
         r"in train: an image must be in one split only"),
        ("jsonl", "array.jsonl", '[{"image": "a.jpg", "caption": "x"}]\n',
         r"array\.jsonl: line 1 is a JSON list, not an object"),
        ("jsonl", "nocaption.jsonl", '{"image": "a.jpg"}\n',
         r"nocaption\.jsonl: line 1 has no 'caption'"),
        ("karpathy", "lines.json", '{"image": "a.jpg", "caption": "x"}\n'
         '{"image": "b.jpg", "caption": "y"}\n',
         r"lines\.json: not valid JSON .* --input_format=karpathy reads a "
         r"Karpathy split file"),
    ]
    for input_format, name, text, message in cases:
      path = self._write(name, text)
      with self.assertRaisesRegex(captions_metadata.CaptionsFileError,
                                  message):
        self._build_own(input_format, path, image_dir, output="o-" + name)
      self.assertFalse(os.path.exists(os.path.join(self.root, "o-" + name)))
    # An image that is not there is skipped and reported, as for MSCOCO.
    path = self._write("gone.jsonl",
                       '{"image": "a.jpg", "caption": "a dog"}\n'
                       '{"image": "gone.jpg", "caption": "a cat"}\n')
    report, splits, _ = self._build_own("jsonl", path, image_dir,
                                        output="gone", val_fraction=0.0,
                                        test_fraction=0.0)
    self.assertEqual(report["images_skipped"], 1)
    self.assertEqual(report["skipped"][0]["file"],
                     os.path.join(image_dir, "gone.jpg"))
    self.assertEqual(_pairs(splits["train"]),
                     collections.Counter({(1, "a dog"): 1}))
    with self.assertRaisesRegex(ValueError, "--input_format=jsonl reads "
                                "--captions_file and takes the images from "
                                "--image_dir: give both"):
      self._build_own("jsonl", path, "", output="noimages")


class LanguagesTest(OwnDataCase):

  def testTokenizers(self):
    nltk = tokenizers.Tokenizer()
    for caption in ("A man's hat, (red) isn't it?", "Two dogs -- playing."):
      self.assertEqual(nltk.process_caption(caption),
                       vocab_builder.process_caption(caption))
    decomposed = "Cafe\u0301 im Gru\u0308nen"
    self.assertEqual(tokenizers.Tokenizer("whitespace").words(decomposed),
                     ["café", "im", "grünen"])
    self.assertEqual(
        tokenizers.Tokenizer("whitespace", lowercase=False).words(
            "Ein Hund, der «läuft»!  Дети\u3000играют."),
        ["Ein", "Hund", ",", "der", "«", "läuft", "»", "!", "Дети",
         "играют", "."])
    self.assertEqual(tokenizers.Tokenizer("character").words(
        "一只狗 在草地上跑。"),
                     ["一", "只", "狗", "在", "草", "地", "上", "跑", "。"])
    # A combining mark NFC cannot compose stays with its character.
    self.assertEqual(tokenizers.Tokenizer("character").words("q\u0307a"),
                     ["q\u0307", "a"])
    with self.assertRaisesRegex(ValueError, "Unknown tokenizer 'spaces'"):
      tokenizers.Tokenizer("spaces")

  def testGermanAndChineseRoundTripThroughRecordsAndVocabulary(self):
    image_dir = self._images(["de.jpg", "zh.jpg"])
    german = "Zwei Hunde spielen fröhlich im Schnee."
    chinese = "两只狗在雪地里玩耍"
    lines = [json.dumps({"image": "de.jpg", "caption": unicodedata.normalize(
        "NFD", german), "split": "train"}, ensure_ascii=False),
             json.dumps({"image": "zh.jpg", "caption": chinese,
                         "split": "train"}, ensure_ascii=False)]
    path = self._write("bilingual.jsonl", "\n".join(lines))
    for name, expected in (
        ("whitespace", ["zwei", "hunde", "spielen", "fröhlich", "im",
                        "schnee", ".", chinese]),
        ("character", list("zweihundespielenfröhlichimschnee.") +
         list(chinese))):
      report, splits, output_dir = self._build_own(
          "jsonl", path, image_dir, output=name,
          tokenizer=tokenizers.Tokenizer(name))
      words = [_word(w) for r in splits["train"]
               for w in r["caption"][1:-1]]
      self.assertEqual(words, expected)
      with open(os.path.join(output_dir, "word_counts.txt"),
                encoding="utf-8") as f:
        vocabulary = [line.split()[0] for line in f]
      self.assertEqual(set(vocabulary) - {"<S>", "</S>"}, set(expected))
      self.assertEqual(report["caption_tokenizer"], name)
      with open(os.path.join(output_dir, shard_writer.STATE_DIRNAME,
                             mscoco_builder.MANIFEST_FILENAME)) as f:
        manifest = json.load(f)
      self.assertEqual(
          tokenizers.from_description(manifest, "manifest"),
          tokenizers.Tokenizer(name))
      # The records' word ids are the vocabulary's.
      for record in splits["train"]:
        self.assertEqual(
            [vocabulary[i] for i in record["caption_ids"]],
            [_word(w) for w in record["caption"]])

  def testOtherTokenizerOnTheSameOutputIsRefusedAndOldManifestsAccepted(self):
    train = ([(1, "a.jpg", builder_testing.jpeg_bytes())],
             [(1, "a dog")])
    val = ([(2, "b.jpg", builder_testing.jpeg_bytes())], [(2, "a cat")])
    self._build(train, val)
    # A manifest of the previous version (no tokenizer, no format) is the
    # original tokenizer's: a rerun keeps the shards.
    path = os.path.join(self.root, "out", shard_writer.STATE_DIRNAME,
                        mscoco_builder.MANIFEST_FILENAME)
    with open(path) as f:
      manifest = json.load(f)
    for key in build_manifest.MANIFEST_DEFAULTS:
      del manifest[key]
    with open(path, "w") as f:
      json.dump(manifest, f)
    self._build(train, val)
    with self.assertRaisesRegex(mscoco_builder.InputsChangedError,
                                "caption_tokenizer: was 'nltk', now "
                                "'whitespace'"):
      self._build(train, val, tokenizer=tokenizers.Tokenizer("whitespace"))


class BaseVocabularyTest(OwnDataCase):

  def testBaseWordsKeepTheirIdsAndNewWordsAreAppended(self):
    image_dir = self._images(["a.jpg", "b.jpg"])
    first = self._write("a.jsonl", "\n".join(json.dumps(
        {"image": "a.jpg", "caption": c, "split": "train"})
                                             for c in ("a dog runs",
                                                       "a dog sits")))
    _, _, base_dir = self._build_own("jsonl", first, image_dir, output="base")
    base_file = os.path.join(base_dir, "word_counts.txt")
    with open(base_file, encoding="utf-8") as f:
      base_lines = f.read().split("\n")
    second = self._write("b.jsonl", "\n".join(json.dumps(
        {"image": "b.jpg", "caption": c, "split": "train"})
                                              for c in ("a cat sleeps",
                                                        "a cat sleeps now",
                                                        "dog")))
    report, splits, output_dir = self._build_own(
        "jsonl", second, image_dir, output="grown", base_vocab_file=base_file)
    with open(os.path.join(output_dir, "word_counts.txt"),
              encoding="utf-8") as f:
      lines = f.read().split("\n")
    self.assertEqual(lines[:len(base_lines)], base_lines)
    self.assertEqual([line.split()[0] for line in lines[len(base_lines):]],
                     ["cat", "sleeps", "now"])
    self.assertEqual(report["vocabulary"]["base_words"], len(base_lines))
    words = [line.split()[0] for line in lines]
    for record in splits["train"]:
      self.assertEqual([words[i] for i in record["caption_ids"]],
                       [_word(w) for w in record["caption"]])
    bad = self._write("bad_vocab.txt", "a 3\nthe dog 2\n")
    with self.assertRaisesRegex(vocab_builder.BaseVocabularyError,
                                "bad_vocab.txt: line 2 is 'the dog 2'"):
      self._build_own("jsonl", second, image_dir, output="bad",
                      base_vocab_file=bad)


class CommandLineTest(OwnDataCase):

  def testCharacterTokenizedJsonLinesAndABadCsvFromTheBinary(self):
    image_dir = self._images(["a.jpg", "b.jpg"])
    pairs = (("a.jpg", "红色的猫"), ("b.jpg", "Blue Cat"))
    path = self._write("zh.jsonl", "\n".join(
        json.dumps({"image": image, "caption": caption}, ensure_ascii=False)
        for image, caption in pairs))
    out = os.path.join(self.root, "zh")
    result = testing_utils.run_module("im2txt.data.build_mscoco_data", [
        "--input_format=jsonl", "--captions_file=" + path,
        "--image_dir=" + image_dir, "--output_dir=" + out,
        "--word_counts_output_file=" + out + "/word_counts.txt",
        "--tokenizer=character", "--nolowercase", "--min_word_count=1",
        "--train_shards=1", "--val_shards=1", "--test_shards=1",
        "--num_threads=1", "--val_fraction=0", "--test_fraction=0"])
    self.assertIn("Split from the captions file: train 2 images",
                  result.stdout)
    with open(os.path.join(out, "word_counts.txt"), encoding="utf-8") as f:
      words = [line.split()[0] for line in f]
    self.assertEqual(set(words), set("红色的猫BlueCat") | {"<S>", "</S>"})
    with open(os.path.join(out, mscoco_builder.REPORT_FILENAME),
              encoding="utf-8") as f:
      report = json.load(f)
    self.assertEqual((report["caption_tokenizer"],
                      report["caption_lowercase"]), ("character", False))
    bad = self._write("bad.csv", "picture,caption\na.jpg,a cat\n")
    result = testing_utils.run_module("im2txt.data.build_mscoco_data", [
        "--input_format=csv", "--captions_file=" + bad,
        "--image_dir=" + image_dir, "--output_dir=" + out + "2"],
                                      check=False)
    self.assertEqual(result.returncode, 1)
    self.assertEqual(
        result.stderr.strip().splitlines()[-1],
        "build_mscoco_data: error: %s: the header row has no column 'image' "
        "(it names 'picture', 'caption'); --input_format=csv needs columns "
        "image, caption and optionally split." % bad)
    self.assertFalse(os.path.exists(out + "2"))
