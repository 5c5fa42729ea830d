"""Binding a run's DataPath and dataset parameter values into its document.

A step input may read a DataPath or dataset parameter (``(param, DataPathComputeBinding)`` tuples,
``DatasetConsumptionConfig(name, PipelineParameter(default=dataset))``). When a run is created, its
frozen document gets each such input rewritten to the concrete source the run's value names (a
``datastore`` path or a ``dataset``), so everything downstream (staging, reuse keys, the record of
what a run read) sees the data the run actually used, whether the value is the default or an override.
Scalar parameters stay references: the runtime fills them into arguments and settings. The document
as submitted (with its parameters unbound) is what publishing a run publishes.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

__all__ = ["bind_data_parameters"]


def bind_data_parameters(document: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` whose parameter-sourced inputs read the data ``values`` assign."""
    bound = copy.deepcopy(dict(document))
    declared = bound["parameters"]
    for step in bound["steps"]:
        for binding in step["inputs"].values():
            source = binding["source"]
            if source["kind"] != "parameter":
                continue
            name = source["name"]
            value = values.get(name, declared[name]["default"])
            binding["source"] = _source(declared[name]["type"], value, bound.get("defaultDatastore"))
    return bound


def _source(kind: str, value: Mapping[str, Any], default_store: Any) -> dict[str, Any]:
    if kind == "datapath":
        store = value.get("datastore") or default_store
        if not store:
            from durableml.service import datastores

            store = datastores.default_name()
        return {"kind": "datastore", "datastore": store, "path": value.get("path", "")}
    return {"kind": "dataset", "dataset": dict(value)}
