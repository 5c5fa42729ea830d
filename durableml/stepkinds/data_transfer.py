"""DataTransferStep (``data_transfer``): copy data between storage options on a Data Factory compute.

The source is staged as the step's input and the destination written as its output (a PipelineData, or the
DataReference path the settings name), by the step runner; durableml's driver copies one to the other (a
file, or a folder's files). On local compute the "Data Factory" is a worker process of this machine. A source
with no data (a DataReference path with no blobs, mounted as an empty folder; an upstream output with no files)
fails the step, as v1's copy does, naming the datastore path.
"""

from __future__ import annotations

from typing import Any

from typing import Mapping

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
    [source] = list(basis.inputs)
    [target] = list(basis.outputs)
    given = basis.inputs[source]
    where = f"path {str(given.get('path_on_datastore') or '/')!r} on datastore {given.get('datastore')!r}"
    arguments: list[object] = [input_placeholder(source), output_placeholder(target), f"source {source!r}: {where}"]
    return basis.job(DRIVER, arguments=arguments)


KIND = StepKind(
    name="data_transfer",
    v1_class="DataTransferStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"DataFactory", "DataFactoryCompute"}),
    to_job=to_job,
    settings_outputs=destination_output,
)
