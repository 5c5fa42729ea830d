"""The Databricks compute backend: DatabricksStep runs on an attached Azure Databricks workspace."""

from __future__ import annotations

from durableml.compute.databricks.backend import DatabricksBackend, databricks_backend, workspace_url

__all__ = ["DatabricksBackend", "databricks_backend", "workspace_url"]
