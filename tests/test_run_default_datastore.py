"""Data without a datastore uses the workspace default as it was when the run was created (real Azurite).

Steps resolve their inputs and outputs when they start, possibly long after the submit; a default datastore
changed in between must not split one run's data over two datastores (and resolving it once per run spares
every step a settings read on its way to the compute target).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from durableml.service import datastores, runs, runtime

GOLDEN = Path(__file__).parent / "sdk" / "golden" / "sample_pipeline.json"


@pytest.fixture(autouse=True)
def default_datastore_restored(service_storage: None) -> Iterator[None]:
    yield
    datastores.set_default_datastore(datastores.DEFAULT_NAME)


def one_step_document() -> dict[str, Any]:
    document = json.loads(GOLDEN.read_text())
    step = document["steps"][0]
    outputs = {name: {**out, "datastore": None} for name, out in step["outputs"].items()}  # "the default"
    document["steps"] = [
        {**step, "computeTarget": "local", "outputs": outputs, "snapshot": {**step["snapshot"], "id": "0" * 64}}
    ]
    document["edges"] = []
    return document


def test_a_run_keeps_the_default_datastore_it_was_created_with() -> None:
    other = f"other{uuid.uuid4().hex[:8]}"
    datastores.register_datastore({"name": other, "container_name": f"c-{other}"})
    datastores.set_default_datastore(other)
    record, _ = runs.create_run("default-datastore", one_step_document(), {})
    assert record["default_datastore"] == other

    datastores.set_default_datastore(datastores.DEFAULT_NAME)  # changed while the run waits to start its step
    run = runs.run_static(record["id"])
    step = run.document["steps"][0]
    (name,) = step["outputs"]
    output = runtime._output(step["outputs"][name], "step-run-1", name, run)
    assert (output["datastore"], output["container"]) == (other, f"c-{other}")

    later, _ = runs.create_run("default-datastore", one_step_document(), {})
    assert later["default_datastore"] == datastores.DEFAULT_NAME
