#!/bin/bash
# Runs the test suite: "quick" skips tests marked slow, "full" runs all.
# Collection fails loudly if a test file yields no test (tests/conftest.py),
# and pytest exits non-zero when nothing at all is collected.
set -e -o pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
shift || true
# The test files run in IM2TXT_TEST_WORKERS parallel processes
# (pytest-xdist; default 2, the CI machine's cores), a whole test class or
# module per worker (--dist loadscope) so that a class's setUpClass, and the
# shared fixtures of a worker, are made once. IM2TXT_TEST_WORKERS=1 runs
# everything in this process.
workers="${IM2TXT_TEST_WORKERS:-2}"
if [ "${workers}" = "1" ]; then
  parallel=()
else
  parallel=(-n "${workers}" --dist loadscope)
fi
case "${mode}" in
  quick) exec python -m pytest "${parallel[@]}" -m "not slow" tests "$@" ;;
  full) exec python -m pytest "${parallel[@]}" --durations=25 tests "$@" ;;
  *) echo "usage: tests/run_tests.sh quick|full [pytest args]" >&2; exit 2 ;;
esac
