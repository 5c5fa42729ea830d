"""SqlDataReference: a query or table of a SQL datastore, as the source of a DataTransferStep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durableml._names import check_identifier
from durableml.exceptions import ValidationError

if TYPE_CHECKING:
    from durableml._handles import DatastoreHandle

__all__ = ["SqlDataReference"]


class SqlDataReference:
    """A reference to data in a SQL datastore: exactly one of a query, a table or a procedure."""

    def __init__(
        self,
        datastore: DatastoreHandle,
        data_reference_name: str | None = None,
        sql_query: str | None = None,
        sql_table: str | None = None,
        sql_stored_procedure: str | None = None,
        sql_stored_procedure_params: list[Any] | None = None,
    ) -> None:
        given = [v for v in (sql_query, sql_table, sql_stored_procedure) if v]
        if len(given) != 1:
            raise ValidationError(
                "SqlDataReference needs exactly one of sql_query, sql_table or sql_stored_procedure, "
                f"got {len(given)}. Pass e.g. sql_table='dbo.customers'."
            )
        self.datastore = datastore
        self.data_reference_name = check_identifier(
            data_reference_name or str(datastore.name), "SqlDataReference data_reference_name"
        )
        self.sql_query = sql_query
        self.sql_table = sql_table
        self.sql_stored_procedure = sql_stored_procedure
        self.sql_stored_procedure_params = list(sql_stored_procedure_params or [])

    @property
    def datastore_name(self) -> str:
        """The name of the SQL datastore."""
        return str(self.datastore.name)

    def to_dict(self) -> dict[str, Any]:
        """Return the reference as a JSON-able dict."""
        return {
            "datastore": self.datastore_name,
            "query": self.sql_query,
            "table": self.sql_table,
            "storedProcedure": self.sql_stored_procedure,
            "storedProcedureParams": [str(p) for p in self.sql_stored_procedure_params],
        }

    def __repr__(self) -> str:
        return f"SqlDataReference(datastore={self.datastore_name!r}, data_reference_name={self.data_reference_name!r})"
