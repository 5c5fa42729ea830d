"""How a step sees data (mounted, downloaded, passed directly...): the one check of a mode name.

Kept apart from the classes that take a mode (DataPath, DataReference, DatasetConsumptionConfig,
PipelineData) so that each of them can use it without importing the others.
"""

from __future__ import annotations

from durableml.exceptions import ValidationError

__all__ = ["INPUT_MODES", "check_mode"]

INPUT_MODES = ("mount", "download", "direct")


def check_mode(mode: object, allowed: tuple[str, ...] = INPUT_MODES, what: str = "mode") -> str:
    """Return ``mode`` if it is one of ``allowed``, else raise ValidationError."""
    if mode not in allowed:
        raise ValidationError(f"{what} {mode!r} is not supported: use one of {', '.join(map(repr, allowed))}.")
    assert isinstance(mode, str)
    return mode
