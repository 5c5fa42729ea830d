#!/usr/bin/env bash
# Set up everything (scripts/setup.sh), then run the main job: the seed article's compare-models pipeline
# (examples/compare_models/pipeline.py, Azure ML v1 code with only the import prefix changed) against a
# local durableml: funchost runs function_app.py and starts Azurite itself. Prints where the results are.
# Extra arguments go to examples/compare_models/run.py (see `--help`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/python examples/compare_models/run.py "$@"
