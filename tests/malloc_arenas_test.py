"""train's cap on glibc's malloc arenas (im2txt/common/malloc_arenas.py)."""

import os
import subprocess
import sys
import textwrap
import unittest

from tests import testing_utils

# Runs in a child: the cap is per process and cannot be undone.
PROBE = textwrap.dedent("""
    import ctypes, json, os, threading
    from im2txt.common import malloc_arenas
    imported = dict(os.environ)
    result = malloc_arenas.limit_arenas()
    # With the cap, 8 threads allocating at once share at most 2 arenas
    # besides the main one: count them in glibc's malloc_info.
    def work():
      blocks = [ctypes.create_string_buffer(4096) for _ in range(2000)]
      barrier.wait()
    barrier = threading.Barrier(8)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc = ctypes.CDLL(None)
    libc.open_memstream.restype = ctypes.c_void_p
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    arenas = buf.value.decode().count("<heap nr=")
    print(json.dumps([result, arenas, imported == dict(os.environ)]))
""")


class MallocArenasTest(unittest.TestCase):

  def _probe(self, **env):
    full = dict(os.environ, PYTHONPATH=testing_utils.REPO_ROOT, **env)
    if not env:
      full.pop("MALLOC_ARENA_MAX", None)
    out = subprocess.run([sys.executable, "-c", PROBE], env=full,
                         capture_output=True, text=True, timeout=120,
                         check=True)
    return __import__("json").loads(out.stdout.strip().splitlines()[-1])

  @unittest.skipUnless(sys.platform.startswith("linux"), "glibc only")
  def testCapsArenasWithoutTouchingTheEnvironment(self):
    result, arenas, same_environment = self._probe()
    self.assertEqual(result, 2)
    self.assertLessEqual(arenas, 2)
    self.assertTrue(same_environment)

  @unittest.skipUnless(sys.platform.startswith("linux"), "glibc only")
  def testTheUsersSettingWins(self):
    result, arenas, _ = self._probe(MALLOC_ARENA_MAX="8")
    self.assertIsNone(result)
    # glibc applied the user's 8: the threads got more than 2 arenas.
    self.assertGreater(arenas, 2)


if __name__ == "__main__":
  unittest.main()
