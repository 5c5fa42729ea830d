"""Use the service from the step, and report (as a hash) the credential the step was given."""

import argparse
import hashlib
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--report", required=True)
args = parser.parse_args()

key = os.environ.get("DURABLEML_KEY", "")
ws = Run.get_context().experiment.workspace
print(f"the step has a key: {bool(key)}; datastores: {sorted(ws.datastores)}")
with open(args.report, "w") as handle:
    json.dump(
        {
            "key_sha256": hashlib.sha256(key.encode()).hexdigest() if key else None,
            "endpoint": os.environ.get("DURABLEML_ENDPOINT"),
            "step_settings": sorted(k for k in os.environ if k.startswith("DURABLEML_STEP_")),
        },
        handle,
    )
