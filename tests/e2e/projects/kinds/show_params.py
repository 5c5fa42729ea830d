"""Prints the AML_PARAMETER_* variables it was started with, as one ``PARAMS {json}`` line."""

import json
import os

print("PARAMS " + json.dumps({k: v for k, v in os.environ.items() if k.startswith("AML_PARAMETER_")}), flush=True)
