"""Caption metrics: hand-checked cases, agreement with pycocoevalcap, the CLI."""

import json
import os
import tempfile
import unittest

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from pycocotools.coco import COCO

from im2txt import caption_metrics
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
    captions = _write(os.path.join(d, "captions.json"), {
        "images": [{"id": i} for i in (1, 2, 3)],
        "annotations": [
            {"id": 1, "image_id": 1, "caption": "A red circle on white."},
            {"id": 2, "image_id": 1, "caption": "a single red disc"},
            {"id": 3, "image_id": 2, "caption": "Two shapes: a blue box and a green disc"},
            {"id": 4, "image_id": 2, "caption": "a blue square and a green circle"},
            {"id": 5, "image_id": 3, "caption": "a yellow triangle"},
            {"id": 6, "image_id": 3, "caption": "one yellow pointed shape"},
        ]})
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
    out = os.path.join(d, "scores.json")
    result = testing_utils.run_module("im2txt.score_captions", [
        "--results_file=" + results,
        "--reference_file_pattern=" + paths["test_pattern"],
        "--output_file=" + out, "--metrics=Bleu_4,CIDEr"])
    self.assertIn("| results.json |", result.stdout)
    scores = testing_utils.read_json(out)["scores"]
    self.assertAlmostEqual(scores["Bleu_4"], 1.0, places=5)
    result = testing_utils.run_module("im2txt.score_captions", [
        "--results_file=" + results, "--captions_file=" + results,
        "--reference_file_pattern=x"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("exactly one of", result.stderr)


if __name__ == "__main__":
  unittest.main()
