"""DataPath and DataPathComputeBinding: a path on a datastore, and how a step sees it.

A DataPath is often the default of a PipelineParameter, paired with a binding in ``arguments``
and ``inputs``: ``(PipelineParameter("data", default_value=DataPath(...)), DataPathComputeBinding())``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durableml.data._modes import INPUT_MODES, check_mode
from durableml.data.data_reference import DataReference
from durableml.exceptions import ValidationError

if TYPE_CHECKING:
    from durableml._handles import DatastoreHandle

__all__ = ["DataPath", "DataPathComputeBinding", "INPUT_MODES", "check_mode"]


class DataPath:
    """A path on a datastore (v1 ``azureml.data.datapath.DataPath``)."""

    _parameter_type = "datapath"  # see durableml._parameter_values

    def __init__(
        self, datastore: DatastoreHandle | None = None, path_on_datastore: str | None = None, name: str | None = None
    ) -> None:
        if datastore is None:
            raise ValidationError(
                "DataPath needs a datastore: pass "
                "DataPath(datastore=ws.get_default_datastore(), path_on_datastore='...')."
            )
        self._datastore = datastore
        self._path_on_datastore = (path_on_datastore or "").lstrip("/")
        self._name = name

    @property
    def datastore(self) -> DatastoreHandle:
        """The datastore the path is on."""
        return self._datastore

    @property
    def datastore_name(self) -> str:
        """The name of the datastore the path is on."""
        return str(self._datastore.name)

    @property
    def path_on_datastore(self) -> str:
        """The path relative to the datastore root."""
        return self._path_on_datastore

    @property
    def name(self) -> str | None:
        """The optional name of this path."""
        return self._name

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath_compute_binding: DataPathComputeBinding | None = None
    ) -> DataReference:
        """Return a DataReference to this path, with the binding's mode and path on compute."""
        binding = datapath_compute_binding or DataPathComputeBinding()
        return DataReference(
            self._datastore,
            data_reference_name or self._name,
            self._path_on_datastore,
            mode=binding.mode,
            path_on_compute=binding.path_on_compute,
            overwrite=binding.overwrite,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"datastore", "path"}`` (used in the pipeline document)."""
        return {"datastore": self.datastore_name, "path": self._path_on_datastore}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataPath) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.datastore_name, self._path_on_datastore))

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore_name!r}, path_on_datastore={self._path_on_datastore!r})"


class DataPathComputeBinding:
    """How a DataPath reaches a step: mounted or downloaded, and where (v1 name)."""

    def __init__(self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False) -> None:
        self.mode = check_mode(mode, ("mount", "download"), "DataPathComputeBinding mode")
        self.path_on_compute = path_on_compute
        self.overwrite = bool(overwrite)

    def __repr__(self) -> str:
        return f"DataPathComputeBinding(mode={self.mode!r}, path_on_compute={self.path_on_compute!r})"
