#!/usr/bin/env bash
# Set up everything (scripts/setup.sh), then run the test suite with the venv's Python.
# Arguments replace the default `tests`, e.g. `bash scripts/test.sh tests/test_azurite.py -x`;
# with options only (`-k azurite`) pytest still collects `tests` (testpaths in pyproject.toml).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

[ "$#" -gt 0 ] || set -- tests
# Test files run in parallel workers (pytest-xdist; most tests wait on processes and HTTP, not the CPU); a file
# stays whole in one worker, and so does tests/compute (tests/conftest.py). DURABLEML_TEST_WORKERS=0: one process.
workers="${DURABLEML_TEST_WORKERS:-3}"
parallel=()
[ "$workers" = "0" ] || parallel=(-n "$workers")
status=0
.venv/bin/python -m pytest -q "${parallel[@]}" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests (exit code 5); treating that as success"
    exit 0
fi
exit "$status"
