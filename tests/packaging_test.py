"""`pip install .` into a new virtualenv exposes the console commands."""

import os
import subprocess
import sys
import tempfile
import unittest

import pytest

from tests import testing_utils

pytestmark = pytest.mark.slow

COMMANDS = ("im2txt-train", "im2txt-evaluate", "im2txt-run-inference",
            "im2txt-build-mscoco-data", "im2txt-make-demo-data",
            "im2txt-score-captions", "im2txt-caption-images",
            "im2txt-blind-baseline", "im2txt-cache-features",
            "im2txt-verify-records", "im2txt-local-cluster",
            "im2txt-export-saved-model", "im2txt-model-server",
            "im2txt-convert-legacy-checkpoint")


class PackagingTest(unittest.TestCase):

  def testPipInstallInNewVirtualenv(self):
    with tempfile.TemporaryDirectory() as d:
      venv = os.path.join(d, "venv")
      subprocess.run([sys.executable, "-m", "venv", venv], check=True)
      pip = os.path.join(venv, "bin", "pip")
      result = subprocess.run([pip, "install", "--quiet", "--no-input",
                               testing_utils.REPO_ROOT],
                              capture_output=True, text=True, timeout=1200)
      self.assertEqual(result.returncode, 0, result.stderr[-3000:])
      env = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
      env["TF_CPP_MIN_LOG_LEVEL"] = "2"
      for command in COMMANDS:
        path = os.path.join(venv, "bin", command)
        self.assertTrue(os.access(path, os.X_OK), command)
        result = subprocess.run([path, "--help"], env=env, cwd=d,
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, command + result.stderr[-2000:])
        # --help lists the command's own flags.
        self.assertRegex(result.stdout, r"\n  --\w+: ", command)
      self.assertTrue(os.access(os.path.join(
          venv, "bin", "download_and_preprocess_mscoco.sh"), os.X_OK))
      # Importing the LSTM model needs no variable set by the user.
      code = ("import im2txt.show_and_tell_model as m, os;"
              "import tensorflow.compat.v1 as tf;"
              "c = tf.nn.rnn_cell.BasicLSTMCell(4);"
              "print(os.environ['TF_USE_LEGACY_KERAS'], m.__file__)")
      result = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code],
                              env=env, cwd=d, capture_output=True, text=True,
                              timeout=300)
      self.assertEqual(result.returncode, 0, result.stderr[-2000:])
      self.assertTrue(result.stdout.startswith("1 " + venv), result.stdout)


if __name__ == "__main__":
  unittest.main()
