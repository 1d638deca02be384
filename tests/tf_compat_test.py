"""Tests of the TensorFlow / tf-slim compatibility module."""

import os
import subprocess
import sys
import unittest

from im2txt import tf_compat
import tensorflow as tf_root
import tensorflow.compat.v1 as tf

from tests import testing_utils


class TfCompatTest(unittest.TestCase):

  def testTf1BehaviourAndLegacyKeras(self):
    self.assertFalse(tf.executing_eagerly())
    self.assertEqual(os.environ["TF_USE_LEGACY_KERAS"], "1")
    self.assertTrue(tf_root.keras.__name__.startswith("tf_keras"))
    tf_compat.check_legacy_keras()
    with tf.Graph().as_default():
      cell = tf.nn.rnn_cell.BasicLSTMCell(4)
      cell(tf.zeros([1, 3]), cell.zero_state(1, tf.float32))
      self.assertEqual(sorted(v.op.name for v in tf.global_variables()),
                       ["basic_lstm_cell/bias", "basic_lstm_cell/kernel"])

  def testKeras3IsAClearError(self):
    env = dict(os.environ, TF_USE_LEGACY_KERAS="0", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=testing_utils.REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", "import im2txt.show_and_tell_model"], env=env,
        capture_output=True, text=True, timeout=300)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("set TF_USE_LEGACY_KERAS=1", result.stderr)

  def testOneDnnKernelsOnlyForTrainAndEvaluateUnlessTheUserChose(self):
    # The package leaves TensorFlow's choice alone (oneDNN is about 10x
    # slower on a single image here); train and evaluate turn it on.
    probe = ("import os, sys, importlib; importlib.import_module(sys.argv[1]); "
             "from tensorflow.python.util import _pywrap_util_port as p; "
             "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', '-'), "
             "p.IsMklEnabled())")
    # (module, user's value, expected value, oneDNN on; None: TensorFlow's
    # own choice, which depends on the processor).
    cases = (("im2txt.train", None, "1", True),
             ("im2txt.evaluate", None, "1", True),
             ("im2txt.evaluate", "0", "0", False),
             ("im2txt.run_inference", None, "-", None))
    for module, env_value, expected_value, expected_on in cases:
      env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                 PYTHONPATH=testing_utils.REPO_ROOT)
      env.pop("TF_ENABLE_ONEDNN_OPTS", None)
      if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
      result = subprocess.run([sys.executable, "-c", probe, module], env=env,
                              capture_output=True, text=True, timeout=300,
                              check=True)
      value, on = result.stdout.split()[-2:]
      self.assertEqual(value, expected_value, module)
      if expected_on is not None:
        self.assertEqual(on, str(expected_on), module)


if __name__ == "__main__":
  unittest.main()
