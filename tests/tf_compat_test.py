"""Tests of the TensorFlow / tf-slim compatibility module."""

import json
import os
import subprocess
import sys
import textwrap
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

  def testImportingThePackageChangesNoEnvironmentVariable(self):
    # Every module of the package is imported in a fresh process; only
    # TF_USE_LEGACY_KERAS (documented in im2txt/__init__.py, needed before
    # TensorFlow loads) may appear. The libraries the package builds on are
    # imported first, since TensorFlow itself sets variables of its own
    # (TF2_BEHAVIOR, TPU_ML_PLATFORM, ...).
    probe = textwrap.dedent("""
        import importlib, json, os, pkgutil
        start = dict(os.environ)
        import im2txt
        after_package = dict(os.environ)
        import tensorflow, tf_keras, tf_slim  # noqa
        before = dict(os.environ)
        names = [m.name for m in pkgutil.walk_packages(im2txt.__path__,
                                                        "im2txt.")]
        for name in names:
          importlib.import_module(name)
        def diff(a, b):
          return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        print(json.dumps([diff(start, after_package), diff(before,
                          dict(os.environ)), sorted(names)]))
        """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=testing_utils.REPO_ROOT)
    env.pop("TF_USE_LEGACY_KERAS", None)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    result = subprocess.run([sys.executable, "-c", probe], env=env,
                            capture_output=True, text=True, timeout=300,
                            check=True)
    package_set, modules_set, names = json.loads(
        result.stdout.strip().splitlines()[-1])
    self.assertEqual(package_set, ["TF_USE_LEGACY_KERAS"])
    self.assertEqual(modules_set, [])
    # The walk reached the binaries and the subpackages' modules.
    for name in ("im2txt.train", "im2txt.evaluate",
                 "im2txt.common.onednn_default", "im2txt.training.loop",
                 "im2txt.data.build_mscoco_data", "im2txt.ops.inputs"):
      self.assertIn(name, names)

  def testOneDnnKernelsOnlyWhenTrainOrEvaluateRunUnlessTheUserChose(self):
    # Importing a binary leaves TensorFlow's choice alone (oneDNN is about
    # 10x slower on a single image here); train and evaluate turn it on
    # when they run as programs, through their entry point.
    probe = textwrap.dedent("""
        import importlib, os, sys
        module, entry = sys.argv[1:3]
        mod = importlib.import_module(module)
        imported = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "-")
        if entry != "-":
          sys.argv = [module, "--helpshort"]
          try:
            getattr(mod, entry)()
          except SystemExit:
            pass
        from tensorflow.python.util import _pywrap_util_port as p
        print(imported, os.environ.get("TF_ENABLE_ONEDNN_OPTS", "-"),
              p.IsMklEnabled())
        """)
    # (module, entry point or "-", user's value, value after import, value
    # after the entry point, oneDNN on; None: TensorFlow's own choice,
    # which depends on the processor).
    cases = (("im2txt.train", "run", None, "-", "1", True),
             ("im2txt.evaluate", "console_main", None, "-", "1", True),
             ("im2txt.evaluate", "console_main", "0", "0", "0", False),
             ("im2txt.train", "-", None, "-", "-", None),
             ("im2txt.run_inference", "run", None, "-", "-", None))
    for module, entry, env_value, imported, ran, expected_on in cases:
      env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                 PYTHONPATH=testing_utils.REPO_ROOT)
      env.pop("TF_ENABLE_ONEDNN_OPTS", None)
      if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
      result = subprocess.run([sys.executable, "-c", probe, module, entry],
                              env=env, capture_output=True, text=True,
                              timeout=300, check=True)
      case = (module, entry, env_value)
      after_import, after_run, on = result.stdout.split()[-3:]
      self.assertEqual(after_import, imported, case)
      self.assertEqual(after_run, ran, case)
      if expected_on is not None:
        self.assertEqual(on, str(expected_on), case)


if __name__ == "__main__":
  unittest.main()
