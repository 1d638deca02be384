"""The package's layout rules: the original's modules and the binaries at
the top, the rest in rooms; flags defined once and read only by main();
no source file over 500 lines."""

import ast
import glob
import os
import unittest

from im2txt.common import cli
from tests import testing_utils

ROOT = testing_utils.REPO_ROOT
PACKAGE = os.path.join(ROOT, "im2txt")
MAX_LINES = 500

# The original im2txt's own top-level modules.
ORIGINAL_MODULES = {"__init__", "configuration", "show_and_tell_model",
                    "inference_wrapper", "train", "evaluate", "run_inference"}
# Top-level modules that are neither: TensorFlow 1 behaviour, imported first
# by every module.
SUPPORT_MODULES = {"tf_compat"}
ROOMS = {"ops", "inference_utils", "data", "training", "serving",
         "captioning", "evaluation", "features", "common"}


SUFFIXES = ("s", "ing", "er", "ers", "ed", "checks", "lib", "ops", "phase")


def suffix_clashes(names):
  """Pairs of module names that differ by a suffix only (train, trainer)."""
  return sorted((a, b) for a in names for b in names
                if a != b and b.startswith(a) and
                b[len(a):].lstrip("_") in SUFFIXES)


def _sources(folder, pattern="**/*.py"):
  return sorted(glob.glob(os.path.join(folder, pattern), recursive=True))


def _tree(path):
  with open(path, encoding="utf-8") as f:
    return ast.parse(f.read())


def _defines_main(tree):
  return any(isinstance(n, ast.FunctionDef) and n.name == "main"
             for n in tree.body)


def flag_reads_outside_main(tree):
  """Line numbers where FLAGS (or flags.FLAGS) is read outside main()."""
  lines = []

  def visit(node, function):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      function = node.name
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id == "FLAGS" and function != "main"):
      lines.append(node.lineno)
    for child in ast.iter_child_nodes(node):
      visit(child, function)

  visit(tree, None)
  return lines


def shared_flag_definitions(tree):
  """Names of SHARED_FLAGS that the module defines with flags.DEFINE_*."""
  names = []
  for node in ast.walk(tree):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith("DEFINE_") and node.args and
        isinstance(node.args[0], ast.Constant) and
        node.args[0].value in cli.SHARED_FLAGS):
      names.append(node.args[0].value)
  return names


class LayoutTest(unittest.TestCase):

  def testTopLevelHoldsTheOriginalsModulesAndBinariesOnly(self):
    strays = []
    for path in _sources(PACKAGE, "*.py"):
      name = os.path.splitext(os.path.basename(path))[0]
      if name in ORIGINAL_MODULES or name in SUPPORT_MODULES:
        continue
      if not _defines_main(_tree(path)):
        strays.append(name)
    self.assertEqual(strays, [], "library modules belong in a room")
    folders = {d for d in os.listdir(PACKAGE)
               if os.path.isfile(os.path.join(PACKAGE, d, "__init__.py"))}
    self.assertEqual(folders, ROOMS)

  def testNoTwoModulesDifferBySuffixOnly(self):
    names = {os.path.splitext(os.path.basename(p))[0]
             for p in _sources(PACKAGE)} - {"__init__"}
    self.assertEqual(suffix_clashes(names), [])

  def testFlagsAreReadOnlyInMain(self):
    problems = ["%s:%d" % (os.path.relpath(path, ROOT), line)
                for path in _sources(PACKAGE)
                for line in flag_reads_outside_main(_tree(path))]
    self.assertEqual(problems, [], "helpers take values, not FLAGS")

  def testSharedFlagsAreDefinedOnlyInCli(self):
    problems = []
    for path in _sources(PACKAGE):
      if path.endswith(os.path.join("common", "cli.py")):
        continue
      for name in shared_flag_definitions(_tree(path)):
        problems.append("%s defines --%s" % (os.path.relpath(path, ROOT),
                                            name))
    self.assertEqual(problems, [], "use cli.define_shared_flag")

  def testTheChecksSeeWhatTheyForbid(self):
    tree = ast.parse("FLAGS = None\n"
                     "def helper():\n  return FLAGS.train_dir\n"
                     "def main(argv):\n  return FLAGS.train_dir\n"
                     "flags.DEFINE_string('vocab_file', '', 'x')\n")
    self.assertEqual(flag_reads_outside_main(tree), [3])
    self.assertEqual(shared_flag_definitions(tree), ["vocab_file"])
    self.assertEqual(suffix_clashes({"train", "trainer", "training",
                                     "self_critical", "self_critical_phase",
                                     "cache_features", "feature_cache"}),
                     [("self_critical", "self_critical_phase"),
                      ("train", "trainer"), ("train", "training")])

  def testNoSourceFileIsLongerThanTheLimit(self):
    long_files = []
    for folder in (PACKAGE, os.path.join(ROOT, "tests")):
      for path in _sources(folder):
        with open(path, encoding="utf-8") as f:
          count = sum(1 for _ in f)
        if count > MAX_LINES:
          long_files.append("%s: %d lines" % (os.path.relpath(path, ROOT),
                                              count))
    self.assertEqual(long_files, [])


if __name__ == "__main__":
  unittest.main()
