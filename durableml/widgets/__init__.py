"""v1 ``azureml.widgets``: RunDetails, a no-op outside Jupyter's Azure ML extension."""

from __future__ import annotations

from typing import Any

__all__ = ["RunDetails"]


class RunDetails:
    """Accepts a run; ``show()`` does nothing (use the durableml studio page or wait_for_completion)."""

    def __init__(self, run_instance: Any = None) -> None:
        self.run_instance = run_instance

    def show(self, render_lib: Any = None, widget_settings: Any = None) -> None:
        """Do nothing: notebooks call it for display only."""

    def get_widget_data(self, widget_settings: Any = None) -> dict[str, Any]:
        """Return an empty widget payload."""
        return {}

    def __repr__(self) -> str:
        return f"RunDetails({self.run_instance!r})"
