"""DataTransferStep: copy data between datastores (or into a PipelineData) without a script."""

from __future__ import annotations

from typing import Any

from durableml.data.data_reference import DataReference
from durableml.data.output_dataset_config import OutputFileDatasetConfig
from durableml.data.sql_data_reference import SqlDataReference
from durableml.exceptions import NotSupportedError, ValidationError
from durableml.pipeline.core.pipeline_data import PipelineData
from durableml.pipeline.core.pipeline_step import PipelineStep, ValueEncoder

__all__ = ["DataTransferStep"]

_REFERENCE_TYPES = (None, "file", "directory")


class DataTransferStep(PipelineStep):
    """Copy ``source_data_reference`` to ``destination_data_reference`` (v1 signature).

    The destination is either step output data (PipelineData, OutputFileDatasetConfig), which
    later steps can read, a DataReference naming a datastore path to write to, or a SqlDataReference naming
    the table (``sql_table``) that a CSV source's rows are inserted into.
    """

    kind = "data_transfer"

    def __init__(
        self,
        name: str,
        source_data_reference: Any = None,
        destination_data_reference: Any = None,
        compute_target: Any = None,
        source_reference_type: str | None = None,
        destination_reference_type: str | None = None,
        allow_reuse: bool = True,
        reuse_policy: str | None = None,
    ) -> None:
        if source_data_reference is None or destination_data_reference is None:
            raise ValidationError(
                f"DataTransferStep {name!r} needs both source_data_reference and destination_data_reference."
            )
        for what, value in (
            ("source_reference_type", source_reference_type),
            ("destination_reference_type", destination_reference_type),
        ):
            if value not in _REFERENCE_TYPES:
                raise ValidationError(
                    f"DataTransferStep {name!r}: {what} must be 'file', 'directory' or None, got {value!r}."
                )
        self._source_type = source_reference_type
        self._destination_type = destination_reference_type
        writes = isinstance(destination_data_reference, (PipelineData, OutputFileDatasetConfig))
        table = isinstance(destination_data_reference, SqlDataReference)
        if not writes and not table and not isinstance(destination_data_reference, DataReference):
            raise ValidationError(
                f"DataTransferStep {name!r}: destination_data_reference must be a PipelineData, an "
                f"OutputFileDatasetConfig, a DataReference or a SqlDataReference, got {destination_data_reference!r}."
            )
        self._sql_destination = None
        if table:  # the table is read by the service like a SQL source (its connection), and written by the copy
            if not destination_data_reference.sql_table:
                raise ValidationError(
                    f"DataTransferStep {name!r}: a SqlDataReference destination needs sql_table (the table the rows "
                    "are inserted into), not a query or a stored procedure."
                )
            if isinstance(source_data_reference, SqlDataReference):
                raise NotSupportedError(
                    f"DataTransferStep {name!r}: a copy from a SqlDataReference to a SqlDataReference",
                    "Copy the query's result to a blob path first, then from there into the table.",
                )
            if (
                getattr(source_data_reference, "data_reference_name", None)
                == destination_data_reference.data_reference_name
            ):
                raise ValidationError(
                    f"DataTransferStep {name!r}: the source and the destination have the same data_reference_name "
                    f"{destination_data_reference.data_reference_name!r}; give them different names."
                )
            self._sql_destination = destination_data_reference.data_reference_name
        self._destination = None if writes or table else destination_data_reference.to_dict()
        super().__init__(
            name,
            inputs=[source_data_reference, destination_data_reference] if table else [source_data_reference],
            outputs=[destination_data_reference] if writes else None,
            allow_reuse=allow_reuse,
            reuse_policy=reuse_policy,
            compute_target=compute_target,
        )

    def _settings(self, encode: ValueEncoder) -> dict[str, Any]:
        return {
            "sourceReferenceType": self._source_type,
            "destinationReferenceType": self._destination_type,
            "destination": self._destination,
            **({"sqlDestination": self._sql_destination} if self._sql_destination else {}),
        }

    def _snapshot(self, default_source_directory: str | None) -> dict[str, Any] | None:
        return None
