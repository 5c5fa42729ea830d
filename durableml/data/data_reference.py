"""DataReference: a path on a datastore used as a step input, mounted or downloaded.

``str(data_reference)`` is ``$AZUREML_DATAREFERENCE_<name>`` as in v1; in a step's ``arguments``
the placeholder is replaced by the local path of the data on the compute.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from durableml._names import check_identifier
from durableml.data._modes import check_mode

if TYPE_CHECKING:
    from durableml._handles import DatastoreHandle

__all__ = ["DataReference", "DataReferenceConfiguration"]


class DataReference:
    """A reference to data on a datastore (v1 ``azureml.data.data_reference.DataReference``).

    ``mode`` is ``"mount"`` (default) or ``"download"`` for inputs, ``"upload"`` for the destination
    of a DataTransferStep. ``as_mount()``/``as_download()`` return a copy with that mode. As a pipeline
    parameter's value it is the DataPath to the same place.
    """

    _parameter_type = "datapath"  # see durableml._parameter_values

    def __init__(
        self,
        datastore: DatastoreHandle,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.datastore = datastore
        name = data_reference_name if data_reference_name is not None else str(datastore.name)
        self.data_reference_name = check_identifier(name, "DataReference data_reference_name")
        self.path_on_datastore = (path_on_datastore or "").lstrip("/") or None
        self.mode = check_mode(mode, ("mount", "download", "upload"), "DataReference mode")
        self.path_on_compute = path_on_compute
        self.overwrite = bool(overwrite)
        self._mode_explicit = mode != "mount"

    @property
    def datastore_name(self) -> str:
        """The name of the datastore the data is on."""
        return str(self.datastore.name)

    def _copy(self, mode: str, path_on_compute: str | None, overwrite: bool) -> DataReference:
        ref = DataReference(
            self.datastore, self.data_reference_name, self.path_on_datastore, mode, path_on_compute, overwrite
        )
        ref._mode_explicit = True
        return ref

    def as_mount(self) -> DataReference:
        """Return a copy that mounts the data on the compute."""
        return self._copy("mount", self.path_on_compute, self.overwrite)

    def as_download(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        """Return a copy that downloads the data to the compute."""
        return self._copy("download", path_on_compute or self.path_on_compute, overwrite)

    def as_upload(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        """Return a copy that uploads from the compute to the datastore (DataTransferStep outputs)."""
        return self._copy("upload", path_on_compute or self.path_on_compute, overwrite)

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """Return a reference to ``path`` below this reference's path."""
        joined = posixpath.join(self.path_on_datastore or "", path or "")
        return DataReference(
            self.datastore,
            data_reference_name or self.data_reference_name,
            joined,
            self.mode,
            self.path_on_compute,
            self.overwrite,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"datastore", "path"}``: where the data is."""
        return {"datastore": self.datastore_name, "path": self.path_on_datastore or ""}

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"DataReference(datastore={self.datastore_name!r}, data_reference_name={self.data_reference_name!r}, "
            f"path_on_datastore={self.path_on_datastore!r}, mode={self.mode!r})"
        )


DataReferenceConfiguration = DataReference
