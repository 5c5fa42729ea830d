#!/usr/bin/env bash
# Set up everything (scripts/setup.sh), then run the main job: the Durable Functions sample app under
# funchost, which starts Azurite itself, runs one orchestration over HTTP and prints its output.
# Extra arguments go to examples/durable_sample/run.py (see `--help`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/python examples/durable_sample/run.py "$@"
