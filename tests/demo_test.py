"""The quick-start main job, shortened: it runs end to end and learns."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import pytest
from tensorboard.backend.event_processing import event_accumulator

from tests import testing_utils

pytestmark = pytest.mark.slow

# Fewer steps than `make demo` (see scripts/run_demo.sh). With 600 training
# images and 2500 feature steps one CI run produced only 4 distinct captions
# for 20 test images: learning takes off between 2000 and 4000 steps.
SHORT_RUN = {
    "DEMO_IMAGE_STEPS": "20",
    "DEMO_FEATURE_STEPS": "5000",
    "DEMO_PHASE2_STEPS": "3",
}


class DemoTest(unittest.TestCase):

  def testShortDemoBeatsTheImageBlindBaselineClearly(self):
    demo_dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, demo_dir)
    env = dict(os.environ, DEMO_DIR=demo_dir, **SHORT_RUN)
    env["PYTHONPATH"] = testing_utils.REPO_ROOT
    result = subprocess.run(
        ["bash", os.path.join(testing_utils.REPO_ROOT, "scripts",
                              "run_demo.sh")],
        env=env, capture_output=True, text=True, timeout=1200)
    self.assertEqual(result.returncode, 0,
                     result.stdout[-3000:] + result.stderr[-3000:])
    # Every stage's header, once each, in order, with its start time.
    stages = re.findall(r"^=== \[\d\d:\d\d:\d\d\] (\d)/9 ", result.stdout,
                        re.MULTILINE)
    self.assertEqual(stages, [str(n) for n in range(1, 10)], result.stdout)

    models = testing_utils.read_json(
        os.path.join(demo_dir, "results", "test_metrics.json"))["models"]
    model, baseline = models[0]["scores"], models[1]["scores"]
    self.assertTrue(
        models[1]["results_file"].endswith("baseline_captions.json"))
    # Clearly better than the most frequent training caption everywhere.
    print("short demo test metrics:", models)
    self.assertGreater(model["Bleu_4"], baseline["Bleu_4"] + 0.2)
    self.assertGreater(model["CIDEr"], 3 * baseline["CIDEr"])
    self.assertGreater(model["CIDEr"], 1.0)
    self.assertIn("BLEU-4  model %.3f   image-blind baseline %.3f"
                  % (model["Bleu_4"], baseline["Bleu_4"]), result.stdout)

    # The captions are about the images: not one caption for all.
    captions = testing_utils.read_json(
        os.path.join(demo_dir, "results", "test_captions.json"))
    self.assertGreater(len(set(c["caption"] for c in captions)),
                       len(captions) // 2)
    # Gallery, TensorBoard metrics, run_inference's output.
    self.assertTrue(os.path.exists(os.path.join(
        demo_dir, "results", "gallery", "contact_sheet.png")))
    acc = event_accumulator.EventAccumulator(
        os.path.join(demo_dir, "model", "eval"))
    acc.Reload()
    self.assertIn("caption_metrics/CIDEr", acc.Tags()["scalars"])
    self.assertIn("Perplexity", acc.Tags()["scalars"])
    self.assertEqual(result.stdout.count("Captions for image "), 3)
    self.assertTrue(glob.glob(os.path.join(demo_dir, "data", "features",
                                           "features-train-*.json")))


if __name__ == "__main__":
  unittest.main()
