"""Bazel's deps match the imports: every im2txt module a target's sources
import is in the target's transitive srcs, and every test file has a target.

Reads the BUILD files as Python (their rules are function calls), so it runs
without Bazel, in the quick suite. tests/bazel_test.py then runs the built
binaries with a Python in which the package is not installed, which is the
same check done by Bazel itself.
"""

import ast
import functools
import glob
import os
import re
import unittest

from tests import testing_utils

ROOT = testing_utils.REPO_ROOT
PY_RULES = ("py_library", "py_binary", "py_test")


def load_targets():
  """{"//pkg:name": {"kind", "srcs" (repo paths), "deps" (labels)}}."""
  targets = {}
  for build in glob.glob(os.path.join(ROOT, "**", "BUILD"), recursive=True):
    package = os.path.relpath(os.path.dirname(build), ROOT)
    if package.startswith(("third_party", ".venv", "bazel-")):
      continue
    package = "" if package == "." else package

    def rule(kind, package=package, **kwargs):
      label = "//%s:%s" % (package, kwargs["name"])
      srcs = [os.path.normpath(os.path.join(package, s))
              for s in kwargs.get("srcs", []) if not s.startswith("//")]
      deps = [d if d.startswith("//") else "//%s%s" % (package, d)
              for d in kwargs.get("deps", [])]
      targets[label] = {"kind": kind, "srcs": srcs, "deps": deps,
                        "tags": kwargs.get("tags", [])}

    namespace = {name: functools.partial(rule, name)
                 for name in PY_RULES + ("sh_binary",)}
    for ignored in ("package", "licenses", "package_group", "exports_files",
                    "filegroup", "load"):
      namespace[ignored] = lambda *a, **kw: None
    with open(build, encoding="utf-8") as f:
      exec(compile(f.read(), build, "exec"), namespace)  # pylint: disable=exec-used
  return targets


def transitive_srcs(targets, label, seen=None):
  seen = set() if seen is None else seen
  if label in seen:
    return set()
  seen.add(label)
  target = targets[label]
  srcs = set(target["srcs"])
  for dep in target["deps"]:
    if dep not in targets:
      raise AssertionError("%s depends on unknown target %s" % (label, dep))
    srcs |= transitive_srcs(targets, dep, seen)
  return srcs


def module_file(module):
  """The repository file of a dotted module name, or None if not ours."""
  if not module.split(".")[0] in ("im2txt", "tests"):
    return None
  base = module.replace(".", "/")
  if os.path.isdir(os.path.join(ROOT, base)):
    return base + "/__init__.py"
  return base + ".py"


_MODULE_IN_STRING = re.compile(r"\bim2txt(?:\.\w+)+")


def imported_files(path):
  """The repository files a source file imports (at any depth), including
  modules named in strings ("python -m im2txt.train", "-c import ...")."""
  with open(os.path.join(ROOT, path), encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  files = set()
  docstrings = set(
      id(n.body[0].value) for n in ast.walk(tree)
      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
      and n.body and isinstance(n.body[0], ast.Expr))
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        files.add(module_file(alias.name))
    elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and
          path.startswith("tests/") and id(node) not in docstrings):
      for name in _MODULE_IN_STRING.findall(node.value):
        candidate = module_file(name)
        if os.path.exists(os.path.join(ROOT, candidate)):
          files.add(candidate)
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      for alias in node.names:
        candidate = module_file(node.module + "." + alias.name)
        if candidate and os.path.exists(os.path.join(ROOT, candidate)):
          files.add(candidate)
        else:
          files.add(module_file(node.module))
  files.discard(None)
  # A package's modules need the package's __init__.py files as well.
  for f in list(files):
    parts = f.split("/")[:-1]
    for i in range(1, len(parts) + 1):
      files.add("/".join(parts[:i]) + "/__init__.py")
  return files


class BuildDepsTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.targets = load_targets()

  def testEveryImportIsAmongTheTransitiveSources(self):
    problems = []
    for label, target in sorted(self.targets.items()):
      if target["kind"] not in PY_RULES:
        continue
      have = transitive_srcs(self.targets, label)
      for src in target["srcs"]:
        for needed in sorted(imported_files(src) - have):
          problems.append("%s: %s imports %s, which no dep provides"
                          % (label, src, needed))
    self.assertEqual(problems, [], "\n".join(problems))

  def testPackageInitIsInEveryTarget(self):
    # im2txt/__init__.py sets TF_USE_LEGACY_KERAS before TensorFlow loads;
    # Bazel would otherwise put an empty __init__.py in its place.
    for label, target in self.targets.items():
      if target["kind"] in PY_RULES and label.startswith("//im2txt"):
        self.assertIn("im2txt/__init__.py",
                      transitive_srcs(self.targets, label), label)

  def testEveryModuleAndTestFileHasATarget(self):
    in_build = set(s for t in self.targets.values() for s in t["srcs"])
    files = [os.path.relpath(p, ROOT) for pattern in (
        "im2txt/**/*.py", "tests/**/*_test.py")
             for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)]
    self.assertTrue(files)
    self.assertEqual(sorted(set(files) - in_build), [])

  def testTheCheckerSeesAMissingDependency(self):
    # The checker itself: a target that drops a needed dep is reported.
    targets = {k: dict(v) for k, v in self.targets.items()}
    train = dict(targets["//im2txt:train"])
    train["deps"] = [d for d in train["deps"] if d != "//im2txt:roles"]
    targets["//im2txt:train"] = train
    have = transitive_srcs(targets, "//im2txt:train")
    self.assertIn("im2txt/training/roles.py",
                  imported_files("im2txt/train.py") - have)


if __name__ == "__main__":
  unittest.main()
