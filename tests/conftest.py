"""pytest configuration: quiet TensorFlow, and no test file may collect nothing.

A test file that silently yields zero tests (a renamed class, a broken
import swallowed somewhere) fails the run here instead of passing unnoticed.
"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

_TESTS_DIR = pathlib.Path(__file__).resolve().parent
_collected_files = set()


def pytest_itemcollected(item):
  _collected_files.add(pathlib.Path(str(item.fspath)).resolve())


# Files whose tests take minutes on a 2-core machine (the full run's
# --durations list). In a parallel run (IM2TXT_TEST_WORKERS, see
# tests/run_tests.sh) they go first, so that the workers end together
# instead of one finishing a long file alone; the other files keep their
# order. One process keeps the plain order.
_LONG_FILES = ("demo_test.py", "bazel_test.py", "distributed_train_test.py",
               "train_test.py", "recompute_test.py", "packaging_test.py",
               "evaluate_test.py", "cache_features_test.py")


def pytest_collection_modifyitems(items):
  if "PYTEST_XDIST_WORKER" not in os.environ:
    return

  def rank(item):
    name = pathlib.Path(str(item.fspath)).name
    return _LONG_FILES.index(name) if name in _LONG_FILES else len(_LONG_FILES)
  items.sort(key=rank)  # Stable: tests keep their order within a file.


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
