"""Caption metrics: hand-checked cases, pycocoevalcap agreement, the CLI."""

import json
import os
import shutil
import sys
import tempfile
import unittest

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from pycocotools.coco import COCO

from im2txt import blind_baseline
from im2txt.evaluation import caption_metrics
from tests import testing_utils

pytestmark = pytest.mark.slow  # Java start-up for the tokenizer and METEOR.


def _write(path, data):
  with open(path, "w", encoding="utf-8") as f:
    json.dump(data, f)
  return path


class CaptionMetricsTest(unittest.TestCase):

  def testIdenticalCaptionsScorePerfectBleuAndRouge(self):
    refs = {1: ["a man riding a wave on a surfboard"],
            2: ["two dogs playing in the snow"]}
    results = {1: "a man riding a wave on a surfboard",
               2: "two dogs playing in the snow"}
    scores = caption_metrics.score(results, refs)
    for name in ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L"):
      self.assertAlmostEqual(scores[name], 1.0, places=5, msg=name)
    self.assertGreater(scores["METEOR"], 0.9)
    self.assertEqual(sorted(scores), sorted(caption_metrics.METRICS))

  def testOneMeteorProcessServesEveryCallAndADeadOneIsReplaced(self):
    refs = {1: ["a man riding a wave on a surfboard"],
            2: ["two dogs playing in the snow"]}
    results = {1: "a man riding a wave", 2: "a dog in the snow"}
    first = caption_metrics.score(results, refs, ["METEOR"])
    process = caption_metrics._meteor.meteor_p  # pylint: disable=protected-access
    # Other captions in between do not leave state behind.
    caption_metrics.score({1: "a surfboard", 2: "dogs"}, refs, ["METEOR"])
    self.assertEqual(caption_metrics.score(results, refs, ["METEOR"]), first)
    self.assertIs(caption_metrics._meteor.meteor_p, process)  # pylint: disable=protected-access
    process.kill()
    process.wait()
    self.assertEqual(caption_metrics.score(results, refs, ["METEOR"]), first)
    self.assertIsNot(caption_metrics._meteor.meteor_p, process)  # pylint: disable=protected-access

  def testLineBreaksOfEveryKindDoNotShiftCaptions(self):
    # Every character that ends a line for Python, a superset of Unicode's
    # mandatory-break classes: each in a caption and a reference of its own
    # image, among images whose captions equal their references.
    breaks = [chr(c) for c in range(sys.maxunicode + 1)
              if len(("a" + chr(c) + "b").splitlines()) > 1]
    self.assertEqual(len(breaks), 10)
    words = ["dog", "cat", "bird", "horse", "sheep", "cow", "zebra",
             "giraffe", "bear", "train", "plane", "boat"]
    refs, results = {}, {}
    for i, word in enumerate(words):
      clean = "a %s standing on a green field" % word
      refs[i] = [clean, "the %s is on the grass" % word]
      results[i] = clean
      if i < len(breaks):
        results[i] = "a %s standing%son a green field" % (word, breaks[i])
        refs[i][1] = "the %s is%son the grass" % (word, breaks[-1 - i])
    scores = caption_metrics.score(results, refs,
                                   metrics=["Bleu_4", "CIDEr"])
    self.assertAlmostEqual(scores["Bleu_4"], 1.0, places=5)
    self.assertGreater(scores["CIDEr"], 5.0)
    for c in breaks:
      self.assertEqual(caption_metrics.one_line("x%sy" % c), "x y")

  def testHandCheckedBleu1(self):
    # 3 of 4 unigrams match, equal lengths (no brevity penalty).
    scores = caption_metrics.score({7: "a red box here"},
                                   {7: ["a red box there"]},
                                   metrics=["Bleu_1", "Bleu_2"])
    self.assertAlmostEqual(scores["Bleu_1"], 0.75, places=5)
    # Bigrams: "a red", "red box" of 3 match -> sqrt(3/4 * 2/3).
    self.assertAlmostEqual(scores["Bleu_2"], (0.75 * 2 / 3) ** 0.5, places=5)

  def testAgreesWithPycocoevalcapThroughCocoLoadRes(self):
    d = tempfile.mkdtemp()
    captions = _write(
        os.path.join(d, "captions.json"), {
            "images": [{
                "id": i
            } for i in (1, 2, 3)],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 1,
                    "caption": "A red circle on white."
                },
                {
                    "id": 2,
                    "image_id": 1,
                    "caption": "a single red disc"
                },
                {
                    "id": 3,
                    "image_id": 2,
                    "caption": "Two shapes: a blue box and a green disc"
                },
                {
                    "id": 4,
                    "image_id": 2,
                    "caption": "a blue square and a green circle"
                },
                {
                    "id": 5,
                    "image_id": 3,
                    "caption": "a yellow triangle"
                },
                {
                    "id": 6,
                    "image_id": 3,
                    "caption": "one yellow pointed shape"
                },
            ]
        })
    results = _write(os.path.join(d, "results.json"), [
        {"image_id": 1, "caption": "a red circle"},
        {"image_id": 2, "caption": "a blue box and a green circle"},
        {"image_id": 3, "caption": "a yellow circle"}])
    ours = caption_metrics.score(
        caption_metrics.load_results(results),
        caption_metrics.references_from_captions_json(captions),
        metrics=["Bleu_4", "CIDEr"])
    # The official path: COCO, loadRes, tokenizer, scorers.
    coco = COCO(captions)
    coco_res = coco.loadRes(results)
    ids = coco_res.getImgIds()
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({i: coco.imgToAnns[i] for i in ids})
    res = tokenizer.tokenize({i: coco_res.imgToAnns[i] for i in ids})
    bleu, _ = Bleu(4).compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    self.assertAlmostEqual(ours["Bleu_4"], bleu[3], places=10)
    self.assertAlmostEqual(ours["CIDEr"], cider, places=10)

  def testErrors(self):
    with self.assertRaisesRegex(caption_metrics.MetricsError, "offline"):
      caption_metrics.score({1: "a"}, {1: ["a"]}, metrics=["SPICE"])
    with self.assertRaisesRegex(caption_metrics.MetricsError,
                                "no reference captions"):
      caption_metrics.score({1: "a", 9: "b"}, {1: ["a"]})
    d = tempfile.mkdtemp()
    bad = _write(os.path.join(d, "bad.json"), [{"image_id": "1", "caption": 3}])
    with self.assertRaisesRegex(caption_metrics.MetricsError,
                                "bad.json: item 0"):
      caption_metrics.load_results(bad)
    dup = _write(os.path.join(d, "dup.json"), [
        {"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}])
    with self.assertRaisesRegex(caption_metrics.MetricsError,
                                "more than one caption"):
      caption_metrics.load_results(dup)

  def testMostFrequentCaptionBreaksTiesAlphabetically(self):
    caption, count, total = blind_baseline.most_frequent_caption({
        1: ["b  caption", "a caption"], 2: ["b caption", "a caption", "c"]})
    self.assertEqual((caption, count, total), ("a caption", 2, 5))
    with self.assertRaises(caption_metrics.MetricsError):
      blind_baseline.most_frequent_caption({})

  def testCommandLineWithReferencesFromRecords(self):
    d = tempfile.mkdtemp()
    paths = testing_utils.make_tiny_dataset(d)
    refs = caption_metrics.references_from_records(paths["test_pattern"])
    self.assertTrue(refs)
    for captions in refs.values():
      self.assertEqual(len(captions), 5)
      self.assertNotIn("<S>", " ".join(captions))
    # Each image captioned with its first reference.
    results = _write(os.path.join(d, "results.json"), [
        {"image_id": i, "caption": c[0]} for i, c in refs.items()])
    # The image-blind baseline: the most frequent training caption for all.
    baseline = os.path.join(d, "baseline.json")
    result = testing_utils.run_module("im2txt.blind_baseline", [
        "--train_file_pattern=" + paths["train_pattern"],
        "--input_file_pattern=" + paths["test_pattern"],
        "--output_file=" + baseline])
    train_refs = caption_metrics.references_from_records(
        paths["train_pattern"])
    counts = {}
    for captions in train_refs.values():
      for c in captions:
        counts[c] = counts.get(c, 0) + 1
    top = max(counts.values())
    expected = min(c for c, n in counts.items() if n == top)
    baseline_results = testing_utils.read_json(baseline)
    self.assertEqual(sorted(r["image_id"] for r in baseline_results),
                     sorted(refs))
    self.assertEqual(set(r["caption"] for r in baseline_results), {expected})
    self.assertIn('"%s" (%d of ' % (expected, top), result.stdout)

    out = os.path.join(d, "scores.json")
    result = testing_utils.run_module("im2txt.score_captions", [
        "--results_file=%s,%s" % (results, baseline),
        "--reference_file_pattern=" + paths["test_pattern"],
        "--output_file=" + out, "--metrics=Bleu_4,CIDEr"])
    self.assertIn("| results.json (%d images) |" % len(refs), result.stdout)
    self.assertIn("| baseline.json (%d images) |" % len(refs), result.stdout)
    self.assertNotIn("testlen", result.stdout)  # BLEU's own printing.
    models = testing_utils.read_json(out)["models"]
    self.assertEqual([m["results_file"] for m in models], [results, baseline])
    self.assertAlmostEqual(models[0]["scores"]["Bleu_4"], 1.0, places=5)
    self.assertLess(models[1]["scores"]["CIDEr"],
                    models[0]["scores"]["CIDEr"])
    self.assertEqual(models[1]["scores"], caption_metrics.score(
        caption_metrics.load_results(baseline), refs, ["Bleu_4", "CIDEr"]))
    # Files of the same name in different folders keep their own rows.
    os.makedirs(os.path.join(d, "other"))
    same_name = os.path.join(d, "other", "results.json")
    shutil.copy(baseline, same_name)
    result = testing_utils.run_module("im2txt.score_captions", [
        "--results_file=%s,%s" % (results, same_name),
        "--reference_file_pattern=" + paths["test_pattern"],
        "--metrics=Bleu_4"])
    self.assertIn("| %s (%d images) |" % (results, len(refs)), result.stdout)
    self.assertIn("| %s (%d images) |" % (same_name, len(refs)), result.stdout)
    result = testing_utils.run_module("im2txt.score_captions", [
        "--results_file=" + results, "--captions_file=" + results,
        "--reference_file_pattern=x"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("exactly one of", result.stderr)


if __name__ == "__main__":
  unittest.main()
