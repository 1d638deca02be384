#!/bin/bash
# Runs the test suite: "quick" skips tests marked slow, "full" runs all.
# Collection fails loudly if a test file yields no test (tests/conftest.py),
# and pytest exits non-zero when nothing at all is collected.
set -e -o pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
shift || true
# IM2TXT_TEST_WORKERS=N runs the test files in N parallel processes
# (pytest-xdist), a whole file per worker so that a class's setUpClass runs
# once. The default is one process: on two cores the parallel run has had
# timing failures (see README, Tests).
workers="${IM2TXT_TEST_WORKERS:-1}"
if [ "${workers}" = "1" ]; then
  parallel=()
else
  parallel=(-n "${workers}" --dist loadfile)
fi
case "${mode}" in
  quick) exec python -m pytest "${parallel[@]}" -m "not slow" tests "$@" ;;
  full) exec python -m pytest "${parallel[@]}" --durations=25 tests "$@" ;;
  *) echo "usage: tests/run_tests.sh quick|full [pytest args]" >&2; exit 2 ;;
esac
