"""AdlaStep (``adla``): a U-SQL script, as on Azure Data Lake Analytics (retired 2024-02-29).

durableml runs the common U-SQL subset on an embedded SQL engine (DuckDB): the job runs durableml's driver
(:mod:`durableml.runner.adla`, the translator is :mod:`durableml.runner.usql`) with the script, the local paths
of the step's inputs and outputs (staged and uploaded by the step runner like any step's), which replace v1's
``@@name@@`` placeholders, and the params. ``degree_of_parallelism`` becomes DuckDB's thread count;
``priority`` and ``runtime_version`` have no meaning here. On local compute the "ADLA account" is a worker
process of this machine. The subset, with examples: docs/design/adla.md.
"""

from __future__ import annotations

import json
from typing import Any

from durableml.jobs import JobSpec, input_placeholder, output_placeholder
from durableml.stepkinds.base import JobBasis, StepKind, setting_value

DRIVER = "durableml:runner/adla.py"

_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["scriptName"],
    "properties": {
        "scriptName": {"type": "string", "minLength": 1},
        "params": {"type": "object"},
        "degreeOfParallelism": {"type": ["integer", "null"]},
        "priority": {"type": ["integer", "null"]},
        "runtimeVersion": {"type": ["string", "null"]},
    },
}


def to_job(basis: JobBasis) -> JobSpec:
    """The driver with the script, ``--input``/``--output NAME <path>`` pairs, the params and the threads."""
    arguments: list[Any] = [str(basis.settings["scriptName"])]
    for name in basis.inputs:
        arguments += ["--input", name, input_placeholder(name)]
    for name in basis.outputs:
        arguments += ["--output", name, output_placeholder(name)]
    params = {str(k): setting_value(v) for k, v in (basis.settings.get("params") or {}).items()}
    if params:
        arguments += ["--params", json.dumps(params, sort_keys=True, default=str)]
    threads = basis.settings.get("degreeOfParallelism")
    if isinstance(threads, int) and threads > 0:
        arguments += ["--threads", str(threads)]
    return basis.job(DRIVER, arguments=arguments)


KIND = StepKind(
    name="adla",
    v1_class="AdlaStep",
    settings_schema=_SETTINGS,
    compute_types=frozenset({"DataLakeAnalytics", "AdlaCompute"}),
    to_job=to_job,
    script_setting="scriptName",
)
