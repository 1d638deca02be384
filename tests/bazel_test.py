"""The Bazel workflow of the original guide, offline: build, binaries, tests.

Needs Debian's bazel-bootstrap and bazel-rules-java (make test installs
them) and the virtualenv's python3 first on PATH.
"""

import os
import shutil
import subprocess
import sys
import unittest

import pytest

from tests import testing_utils

pytestmark = pytest.mark.slow


def _bazel(*args, timeout=1200):
  env = dict(os.environ)
  env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
  return subprocess.run(["bazel"] + list(args), cwd=testing_utils.REPO_ROOT,
                        env=env, capture_output=True, text=True,
                        timeout=timeout)


def _binary(name, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
  env.pop("PYTHONPATH", None)
  path = os.path.join(testing_utils.REPO_ROOT, "bazel-bin", "im2txt", name)
  return subprocess.run([path] + list(args), env=env, capture_output=True,
                        text=True, timeout=300, cwd="/")


@unittest.skipIf(shutil.which("bazel") is None,
                 "bazel is not installed: run `make test`, which installs it")
class BazelTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    result = _bazel("build", "-c", "opt", "//im2txt/...")
    if result.returncode != 0:
      raise AssertionError("bazel build failed:\n" + result.stderr[-5000:])

  def testTrainBinaryPrintsTrainingFlags(self):
    result = _binary("train", "--helpfull")
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("Phase 2 (fine-tune everything)", result.stdout)
    for flag in ("--input_file_pattern", "--inception_checkpoint_file",
                 "--train_dir", "--[no]train_inception", "--number_of_steps",
                 "--log_every_n_steps", "--features_file_pattern"):
      self.assertIn(flag, result.stdout)

  def testEvaluateAndRunInferenceBinaries(self):
    result = _binary("evaluate", "--helpfull")
    self.assertIn("--min_global_step", result.stdout)
    result = _binary("run_inference", "--helpfull")
    self.assertIn("--checkpoint_path", result.stdout)
    result = _binary("build_mscoco_data", "--helpfull")
    self.assertIn("--word_counts_output_file", result.stdout)
    # The additions: their imports resolve inside Bazel's runfiles too.
    for name, flag in (("evaluate", "--num_caption_eval_images"),
                       ("run_inference", "--batch_size"),
                       ("caption_images", "--gallery_dir"),
                       ("score_captions", "--results_file"),
                       ("blind_baseline", "--train_file_pattern"),
                       ("cache_features", "--num_crops"),
                       ("cache_features", "--encoder_dtype"),
                       ("train", "--encoder_dtype"),
                       ("run_inference", "--encoder_dtype"),
                       ("caption_images", "--encoder_dtype"),
                       ("build_mscoco_data", "--parallelism")):
      result = _binary(name, "--helpfull")
      self.assertEqual(result.returncode, 0, name + result.stderr[-2000:])
      self.assertIn(flag, result.stdout)

  def testDownloadScriptFindsItsBuilderInRunfiles(self):
    runfile = os.path.join(testing_utils.REPO_ROOT, "bazel-bin", "im2txt",
                           "download_and_preprocess_mscoco.runfiles", "im2txt",
                           "im2txt", "build_mscoco_data")
    self.assertTrue(os.access(runfile, os.X_OK), runfile)
    result = _binary("download_and_preprocess_mscoco")
    self.assertEqual(result.returncode, 1)
    self.assertIn("usage:", result.stderr)

  def testBazelTestRunsTheUnitTests(self):
    result = _bazel("test", "//...")
    self.assertEqual(result.returncode, 0, result.stdout[-5000:] +
                     result.stderr[-3000:])
    self.assertIn("//tests:caption_generator_test", result.stdout)
    self.assertRegex(result.stdout, r"Executed \d+ out of \d+ tests?: \d+ tests? pass")


if __name__ == "__main__":
  unittest.main()
