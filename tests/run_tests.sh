#!/bin/bash
# Runs the test suite: "quick" skips tests marked slow, "full" runs all.
# Collection fails loudly if a test file yields no test (tests/conftest.py),
# and pytest exits non-zero when nothing at all is collected.
set -e -o pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
shift || true
case "${mode}" in
  quick) exec python -m pytest -m "not slow" tests "$@" ;;
  full) exec python -m pytest --durations=25 tests "$@" ;;
  *) echo "usage: tests/run_tests.sh quick|full [pytest args]" >&2; exit 2 ;;
esac
