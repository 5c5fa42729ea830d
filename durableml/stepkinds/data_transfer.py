"""DataTransferStep (``data_transfer``): copy data between storage options on a Data Factory compute.

The source is the step's input and the destination its output (a PipelineData, or the DataReference path the
settings name), both marked ``transfer``: the step runner stages neither (it writes references holding each
side's container, path and connection) and durableml's driver (:mod:`durableml.runner.data_transfer`) has the
storage service copy the blobs server-side (Copy Blob), or streams a SQL source's rows to a CSV blob in bounded
memory. The job runs on the DataFactory backend (:mod:`durableml.compute.datafactory`). A source with no data
(a DataReference path with no blobs; an upstream output with no files) fails the step, as v1's copy does,
naming the datastore path. A SqlDataReference destination (``settings.sqlDestination`` names it) is the step's
second input, a SQL binding like a source's (the service gives it its database's connection), into whose table
the driver inserts a CSV source's rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from durableml.jobs import JobSpec, input_placeholder, output_placeholder
from durableml.stepkinds.base import JobBasis, StepKind

DRIVER = "durableml:runner/data_transfer.py"
DESTINATION = "destination"
"""The output name of a DataReference destination (a PipelineData destination keeps its own name)."""

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sourceReferenceType": {"type": ["string", "null"]},
        "destinationReferenceType": {"type": ["string", "null"]},
        "destination": {"type": ["object", "null"]},
        "sqlDestination": {"type": ["string", "null"]},
    },
}


def destination_output(settings: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """A DataReference destination (``settings.destination``) as an output written to exactly that path."""
    destination = settings.get("destination")
    if not isinstance(destination, Mapping):
        return {}
    return {
        DESTINATION: {
            "kind": "output_file_dataset",
            "datastore": destination.get("datastore"),
            "destination": str(destination.get("path") or "").strip("/"),
            "isDirectory": settings.get("destinationReferenceType") != "file",
        }
    }


def to_job(basis: JobBasis) -> JobSpec:
    """The copy: durableml's driver (:mod:`durableml.runner.data_transfer`) from the staged source to the output,
    which the runner uploads to the destination."""
    table = basis.settings.get("sqlDestination")
    [source] = [name for name in basis.inputs if name != table]
    given = basis.inputs[source]
    where = f"path {str(given.get('path_on_datastore') or '/')!r} on datastore {given.get('datastore')!r}"
    if table:  # a SqlDataReference destination is an input binding (its database's connection): rows go in
        destination: dict[str, str] = input_placeholder(str(table))
    else:
        [target] = list(basis.outputs)
        destination = output_placeholder(target)
    arguments: list[object] = [input_placeholder(source), destination, f"source {source!r}: {where}"]
    job = basis.job(DRIVER, arguments=arguments)
    return replace(
        job,
        inputs={n: _transfer(b, basis.connection_string) for n, b in job.inputs.items()},
        outputs={n: _transfer(b, basis.connection_string) for n, b in job.outputs.items()},
    )


def _transfer(binding: Mapping[str, Any], connection: str) -> dict[str, Any]:
    """A binding the runner leaves to the copy driver, with its account's connection (the service's own when the
    datastore is on it; a SQL source has its database's already)."""
    return {**binding, "transfer": True, "connection_string": binding.get("connection_string") or connection}


KIND = StepKind(
    name="data_transfer",
    v1_class="DataTransferStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"DataFactory", "DataFactoryCompute"}),
    to_job=to_job,
    settings_outputs=destination_output,
)
