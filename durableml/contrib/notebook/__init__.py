"""v1 notebook runner (not supported yet)."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["AzureMLNotebookHandler", "NotebookRunConfig", "NotebookRunnerStep"]

_HINT = "Run the notebook's code as a script in a PythonScriptStep."
AzureMLNotebookHandler = unsupported_class("AzureMLNotebookHandler", __name__, _HINT)
NotebookRunConfig = unsupported_class("NotebookRunConfig", __name__, _HINT)
NotebookRunnerStep = unsupported_class("NotebookRunnerStep", __name__, _HINT)
