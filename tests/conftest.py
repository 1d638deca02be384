"""pytest configuration: quiet TensorFlow, and no test file may collect nothing.

A test file that silently yields zero tests (a renamed class, a broken
import swallowed somewhere) fails the run here instead of passing unnoticed.
"""

import os
import pathlib
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

_TESTS_DIR = pathlib.Path(__file__).resolve().parent
_collected_files = set()
_BAZEL_TEST = "bazel_test.py::BazelTest::testBazelTestRunsTheUnitTests"


def pytest_itemcollected(item):
  _collected_files.add(pathlib.Path(str(item.fspath)).resolve())


# Files whose tests take minutes on a 2-core machine (the full run's
# --durations list), longest first. In a parallel run (tests/run_tests.sh)
# they go first, so that the workers end together instead of one finishing
# a long file alone; the other files keep their order. One process keeps
# the plain order.
_LONG_FILES = ("demo_test.py", "train_test.py", "evaluate_test.py",
               "distributed_train_test.py", "saved_model_export_test.py",
               "cache_features_test.py", "model_deploy_test.py",
               "packaging_test.py", "recompute_test.py", "bazel_test.py",
               "train_signals_test.py", "legacy_checkpoints_test.py",
               "model_server_lifecycle_test.py", "model_server_test.py",
               "extend_checkpoint_test.py", "other_languages_test.py",
               "evaluate_features_test.py", "feature_captioning_test.py")


@pytest.hookimpl(trylast=True)  # After -m and -k have deselected.
def pytest_collection_modifyitems(config, items):
  _leave_to_bazel(config, items)
  if "PYTEST_XDIST_WORKER" not in os.environ:
    return

  def rank(item):
    name = pathlib.Path(str(item.fspath)).name
    return _LONG_FILES.index(name) if name in _LONG_FILES else len(_LONG_FILES)
  items.sort(key=rank)  # Stable: tests keep their order within a file.


def _leave_to_bazel(config, items):
  """Deselects the files that `bazel test` runs in this session.

  When bazel_test.py's `bazel test` is selected and Bazel is installed, the
  files of testing_utils.BAZEL_RUN_TEST_FILES run there (with their results
  checked by that test), not a second time here.
  """
  from tests import testing_utils  # pylint: disable=g-import-not-at-top
  if shutil.which("bazel") is None or not any(
      item.nodeid.endswith(_BAZEL_TEST) for item in items):
    return
  files = set((_TESTS_DIR / f).resolve()
              for f in testing_utils.BAZEL_RUN_TEST_FILES)
  left = [item for item in items
          if pathlib.Path(str(item.fspath)).resolve() in files]
  if left:
    config.hook.pytest_deselected(items=left)
    items[:] = [item for item in items if item not in left]


def pytest_sessionfinish(session, exitstatus):
  del exitstatus  # Unused.
  # The shared fixtures are read-only (tests/testing_utils.py): a write
  # into them fails the run even when every test passed.
  from tests import testing_utils  # pylint: disable=g-import-not-at-top
  try:
    testing_utils.check_shared_unchanged()
  except AssertionError as e:
    print("\n%s" % e)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_finish(session):
  # Only when the whole tests/ tree was asked for.
  args = [pathlib.Path(a.split("::")[0]).resolve() for a in session.config.args]
  if _TESTS_DIR not in args:
    return
  expected = set(p.resolve() for p in _TESTS_DIR.rglob("*_test.py"))
  empty = sorted(
      str(p.relative_to(_TESTS_DIR)) for p in expected - _collected_files)
  if empty:
    raise pytest.UsageError("These test files collected no tests: %s" %
                            ", ".join(empty))
