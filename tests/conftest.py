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
