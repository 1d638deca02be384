"""Batch captioning: results format, agreement with run_inference, bad input."""

import glob
import html
import os
import re
import shutil
import unittest

import pytest
from pycocotools.coco import COCO

from im2txt.evaluation import caption_metrics
from tests import testing_utils

pytestmark = pytest.mark.slow


class CaptionImagesTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = 40

  def _run(self, *args, check=True):
    return testing_utils.run_module("im2txt.caption_images", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"]] + list(args), check=check)

  def testOutputInAMissingFolderFailsBeforeCaptioning(self):
    missing = os.path.join(self.root, "no", "such", "results.json")
    result = self._run("--input_file_pattern=" + self.paths["test_pattern"],
                       "--output_file=" + missing, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("caption_images: error: %s: the folder" % missing,
                  result.stderr)
    self.assertNotIn("Captioned", result.stderr)

  def testCorruptRecordIsNamed(self):
    bad = os.path.join(self.root, "corrupt-test-00000-of-00001")
    testing_utils.corrupt_copy(glob.glob(self.paths["test_pattern"])[0], bad)
    result = self._run("--input_file_pattern=" + bad, "--output_file=" +
                       os.path.join(self.root, "corrupt_results.json"),
                       check=False)
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr, r"caption_images: error: %s \(record "
                     r"\d+, byte offset \d+\): not a TFRecord file"
                     % re.escape(bad))

  def testTwoFilesWithOneImageIdAreRefused(self):
    folder = os.path.join(self.root, "collide")
    os.makedirs(folder)
    image = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                          "*.jpg")))[0]
    for name in ("img_5.jpg", "img_000005.jpg"):
      shutil.copy(image, os.path.join(folder, name))
    result = self._run("--input_files=" + os.path.join(folder, "*.jpg"),
                       "--output_file=" + os.path.join(folder, "r.json"),
                       check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("both give image id 5", result.stderr)
    self.assertFalse(os.path.exists(os.path.join(folder, "r.json")))

  def testSplitRecordsToResultsThatCocoLoads(self):
    out = os.path.join(self.root, "results.json")
    top_k = os.path.join(self.root, "top_k.json")
    self._run("--input_file_pattern=" + self.paths["test_pattern"],
              "--output_file=" + out, "--top_k_file=" + top_k)
    results = testing_utils.read_json(out)
    # 40 val2014 images: the last 10% (4) are the test split, once each.
    self.assertEqual(len(results), 4)
    self.assertEqual(len(set(r["image_id"] for r in results)), 4)
    coco = COCO(self.paths["val_captions_file"])
    coco_res = coco.loadRes(out)
    self.assertEqual(sorted(coco_res.getImgIds()),
                     sorted(r["image_id"] for r in results))
    beams = testing_utils.read_json(top_k)
    for item, result in zip(beams, results):
      self.assertEqual(item["captions"][0]["caption"], result["caption"])
      probabilities = [b["p"] for b in item["captions"]]
      self.assertEqual(probabilities, sorted(probabilities, reverse=True))

  def testGalleryShowsTheTopKAndReferences(self):
    out = os.path.join(self.root, "gallery_results.json")
    top_k = os.path.join(self.root, "gallery_top_k.json")
    gallery = os.path.join(self.root, "gallery")
    result = self._run("--input_file_pattern=" + self.paths["test_pattern"],
                       "--output_file=" + out, "--top_k_file=" + top_k,
                       "--gallery_dir=" + gallery, "--gallery_max_images=3",
                       "--batch_size=2")
    self.assertIn("Wrote a gallery of 3 images", result.stdout)
    with open(os.path.join(gallery, "index.html"), encoding="utf-8") as f:
      page = f.read()
    references = caption_metrics.references_from_records(
        self.paths["test_pattern"])
    shown = testing_utils.read_json(top_k)[:3]
    for item in shown:
      self.assertIn('id="image-%d"' % item["image_id"], page)
      for beam in item["captions"]:
        self.assertIn("%s <span class=\"p\">(p=%.4f)</span>"
                      % (html.escape(beam["caption"]), beam["p"]), page)
      for reference in references[item["image_id"]]:
        self.assertIn("<li>%s</li>" % html.escape(reference), page)
    self.assertEqual(page.count('class="card"'), 3)
    self.assertTrue(os.path.exists(os.path.join(gallery, "contact_sheet.png")))
    self.assertEqual(len(os.listdir(os.path.join(gallery, "images"))), 3)

  def testSameTopCaptionAsRunInference(self):
    images = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                           "*.jpg")))[:3]
    out = os.path.join(self.root, "files.json")
    self._run("--input_files=" + ",".join(images), "--output_file=" + out)
    ours = {r["image_id"]: r["caption"] for r in testing_utils.read_json(out)}
    single = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + ",".join(images)])
    theirs = {}
    for block in single.stdout.split("Captions for image ")[1:]:
      name, lines = block.split(":\n", 1)
      image_id = int(re.search(r"(\d+)\.jpg$", name).group(1))
      theirs[image_id] = re.match(r"  0\) (.*) \(p=", lines).group(1)
    self.assertEqual(ours, theirs)

  def testBadImageIsReportedOthersCaptioned(self):
    bad = os.path.join(self.root, "COCO_val2014_000000999999.jpg")
    with open(bad, "w") as f:
      f.write("not an image")
    good = sorted(glob.glob(os.path.join(self.paths["val_image_dir"],
                                         "*.jpg")))[0]
    out = os.path.join(self.root, "bad.json")
    result = self._run("--input_files=%s,%s" % (bad, good),
                       "--output_file=" + out, check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s: image 999999 is not a decodable JPEG" % bad,
                  result.stderr)
    self.assertEqual(len(testing_utils.read_json(out)), 1)

  def testNothingCaptionedLeavesEarlierResultsAlone(self):
    # A pattern that matches nothing and an undecodable image: no caption.
    # The results of an earlier run stay; no top-k file appears.
    bad = os.path.join(self.root, "COCO_val2014_000000999998.jpg")
    with open(bad, "w") as f:
      f.write("not an image")
    out = os.path.join(self.root, "earlier.json")
    earlier = '[{"image_id": 1, "caption": "kept"}]'
    with open(out, "w") as f:
      f.write(earlier)
    top_k = os.path.join(self.root, "earlier_top_k.json")
    missing = os.path.join(self.root, "no_such_dir", "*.jpg")
    result = self._run("--input_files=%s,%s" % (missing, bad),
                       "--output_file=" + out, "--top_k_file=" + top_k,
                       check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s: no file matches this pattern" % missing, result.stderr)
    self.assertIn("%s: image 999998 is not a decodable JPEG" % bad,
                  result.stderr)
    self.assertIn("caption_images: error: no image was captioned; %s was "
                  "not written" % out, result.stderr)
    with open(out) as f:
      self.assertEqual(f.read(), earlier)
    self.assertFalse(os.path.exists(top_k))


if __name__ == "__main__":
  unittest.main()
