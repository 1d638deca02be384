"""The Bazel workflow of the original guide, offline: build, binaries, tests.

Needs Debian's bazel-bootstrap and bazel-rules-java (make test installs
them). The built binaries and `bazel test` run with a "bare" python3: one
that sees the virtualenv's packages (TensorFlow, tf-slim, ...) but not the
im2txt package installed there, so that a module missing from a target's
deps fails here instead of being found in the virtualenv.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import pytest

from tests import testing_utils

pytestmark = pytest.mark.slow


_BARE_PYTHON_BIN = None  # Set by BazelTest.setUpClass.


def make_bare_python(folder):
  """A virtualenv in `folder` that imports this interpreter's packages, but
  not the ones installed through .pth files (the editable im2txt).

  Its site-packages lists ours in a .pth file: a directory named there is
  added to sys.path, but the .pth files inside it are not processed.

  Returns:
    The virtualenv's bin directory.
  """
  base = getattr(sys, "_base_executable", sys.executable)
  subprocess.run([base, "-m", "venv", "--without-pip", folder], check=True)
  python = os.path.join(folder, "bin", "python3")
  site = subprocess.run(
      [python, "-c", "import sysconfig; print(sysconfig.get_paths()"
       "['purelib'])"], check=True, capture_output=True, text=True).stdout
  ours = sorted(set([sysconfig.get_paths()["purelib"],
                     sysconfig.get_paths()["platlib"]]))
  with open(os.path.join(site.strip(), "project_deps.pth"), "w") as f:
    f.write("\n".join(ours) + "\n")
  return os.path.join(folder, "bin")


def _env(**extra):
  env = dict(os.environ, **extra)
  env["PATH"] = _BARE_PYTHON_BIN + os.pathsep + env["PATH"]
  env.pop("PYTHONPATH", None)
  return env


def _bazel(*args, timeout=1200):
  return subprocess.run(["bazel"] + list(args), cwd=testing_utils.REPO_ROOT,
                        env=_env(), capture_output=True, text=True,
                        timeout=timeout)


def _binary(name, *args):
  env = _env(TF_CPP_MIN_LOG_LEVEL="2")
  path = os.path.join(testing_utils.REPO_ROOT, "bazel-bin", "im2txt", name)
  return subprocess.run([path] + list(args), env=env, capture_output=True,
                        text=True, timeout=300, cwd="/")


def _failed_test_logs(output):
  """The end of each failed target's test.log, without the sandbox's lines
  (Bazel's summary alone does not say why a test failed)."""
  parts = []
  for name in re.findall(r"^//tests:(\w+)\s+(?:FAILED|TIMEOUT)", output,
                         re.MULTILINE):
    log = os.path.join(testing_utils.REPO_ROOT, "bazel-testlogs", "tests",
                       name, "test.log")
    if not os.path.exists(log):
      continue
    with open(log, encoding="utf-8", errors="replace") as f:
      lines = [line for line in f if "linux-sandbox" not in line]
    parts.append("=== %s ===\n%s" % (log, "".join(lines)[-6000:]))
  return "\n".join(parts) + "\n"


@unittest.skipIf(shutil.which("bazel") is None,
                 "bazel is not installed: run `make test`, which installs it")
class BazelTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    global _BARE_PYTHON_BIN
    cls.bare = tempfile.mkdtemp()
    _BARE_PYTHON_BIN = make_bare_python(cls.bare)
    # Every target that is not `manual`: the binaries and the test targets
    # (their deps resolve). One configuration (-c opt) throughout, so that
    # bazel-bin stays the tree the binaries below are run from.
    result = _bazel("build", "-c", "opt", "//...")
    if result.returncode != 0:
      raise AssertionError("bazel build failed:\n" + result.stderr[-5000:])

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.bare, ignore_errors=True)

  def testBarePythonHasTheDependenciesButNotThePackage(self):
    python = os.path.join(_BARE_PYTHON_BIN, "python3")
    ok = subprocess.run([python, "-c", "import tensorflow, tf_slim, absl"],
                        cwd="/", capture_output=True, text=True)
    self.assertEqual(ok.returncode, 0, ok.stderr[-2000:])
    missing = subprocess.run([python, "-c", "import im2txt"], cwd="/",
                             capture_output=True, text=True)
    self.assertIn("No module named 'im2txt'", missing.stderr)

  def testTrainBinaryPrintsTrainingFlags(self):
    result = _binary("train", "--helpfull")
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("Phase 2 (fine-tune everything)", result.stdout)
    for flag in ("--input_file_pattern", "--inception_checkpoint_file",
                 "--train_dir", "--[no]train_inception", "--number_of_steps",
                 "--log_every_n_steps", "--features_file_pattern",
                 "--encoder_dtype", "--extend_checkpoint"):
      self.assertIn(flag, result.stdout)

  def testEvaluateAndRunInferenceBinaries(self):
    # The guide's flags and the additions, one run of each binary: their
    # imports resolve inside Bazel's runfiles too.
    flags_of = {
        "evaluate": ("--min_global_step", "--num_caption_eval_images"),
        "run_inference": ("--checkpoint_path", "--batch_size",
                          "--encoder_dtype"),
        "build_mscoco_data": ("--word_counts_output_file", "--parallelism",
                              "--input_format", "--tokenizer",
                              "--base_vocab_file"),
        "caption_images": ("--gallery_dir", "--encoder_dtype"),
        "score_captions": ("--results_file",),
        "blind_baseline": ("--train_file_pattern",),
        "cache_features": ("--num_crops", "--encoder_dtype"),
        "make_demo_data": ("--output_dir",),
        "verify_records": ("--kind",),
        "local_cluster": ("--num_workers",),
        "export_saved_model": ("--frozen_graph_file", "--model_base_path"),
        "model_server": ("--rest_api_port",
                         "--tensorflow_intra_op_parallelism"),
        "convert_legacy_checkpoint": ("--output_checkpoint",),
    }
    for name, flags in flags_of.items():
      result = _binary(name, "--helpfull")
      self.assertEqual(result.returncode, 0, name + result.stderr[-2000:])
      for flag in flags:
        self.assertIn(flag, result.stdout, name)

  def testDownloadScriptFindsItsBuilderInRunfiles(self):
    runfile = os.path.join(testing_utils.REPO_ROOT, "bazel-bin", "im2txt",
                           "download_and_preprocess_mscoco.runfiles", "im2txt",
                           "im2txt", "build_mscoco_data")
    self.assertTrue(os.access(runfile, os.X_OK), runfile)
    result = _binary("download_and_preprocess_mscoco")
    self.assertEqual(result.returncode, 1)
    self.assertIn("usage:", result.stderr)

  def testBazelTestRunsTheUnitTests(self):
    # The files of testing_utils.BAZEL_RUN_TEST_FILES, which pytest leaves
    # to this test when it runs (tests/conftest.py): each runs once per
    # `make test`, here, never from Bazel's cache. Every other target is
    # built (setUpClass), and runs under pytest.
    targets = [testing_utils.bazel_test_target(f)
               for f in testing_utils.BAZEL_RUN_TEST_FILES]
    result = _bazel("test", "-c", "opt", "--nocache_test_results", *targets)
    self.assertEqual(result.returncode, 0, _failed_test_logs(result.stdout) +
                     result.stdout[-3000:] + result.stderr[-2000:])
    for target in targets:
      self.assertRegex(result.stdout, r"%s\s+PASSED" % re.escape(target))
    self.assertRegex(result.stdout,
                     r"Executed %d out of %d tests: %d tests pass" %
                     ((len(targets),) * 3))


if __name__ == "__main__":
  unittest.main()
