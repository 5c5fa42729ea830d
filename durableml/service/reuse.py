"""Step reuse: the key that identifies a step's work (v1 semantics) and the table of reusable results.

A step is reused when an earlier successful run of a step with the same key exists and neither the step
(``allow_reuse=False``) nor the submission (``regenerate_outputs=True``) forbids it. The key covers what
determines the step's outputs: its kind, settings, snapshot, resolved arguments, input locations, output
names and ``version``; never the compute target's name, run ids, timestamps or the display name.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

from durableml.service.records import records
from durableml.service.runs import PARTITION, RUNS, RunStatic

REUSE = "dmlReuse"


def key(step: Mapping[str, Any], arguments: list[Any], inputs: Mapping[str, Mapping[str, Any]],
        outputs: Mapping[str, Any]) -> str:
    """The reuse key of a step whose arguments, inputs and outputs are resolved."""
    identity = {"kind": step["kind"], "settings": step.get("settings"),
                "snapshot": (step.get("snapshot") or {}).get("id"), "arguments": arguments,
                "inputs": {n: [i["container"], i["path_on_datastore"]] for n, i in inputs.items()},
                "outputs": sorted(outputs), "version": step.get("version")}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def find(run: RunStatic, step: Mapping[str, Any], reuse_key: str) -> Optional[dict[str, Any]]:
    """The finished step run whose results this step may reuse, or None."""
    if not step.get("allowReuse") or run.regenerate_outputs:
        return None
    found = records().get(REUSE, "key", reuse_key)
    if found is None:
        return None
    original = records().get(RUNS, PARTITION, found["id"])
    return original if original and original["status"] == "Finished" else None


def remember(step: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """Make a finished step run's results reusable by later steps with the same key."""
    if step.get("allowReuse") and record.get("reuse_key"):
        records().put(REUSE, "key", record["reuse_key"], {"id": record["id"], "outputs": record.get("outputs", {})})
