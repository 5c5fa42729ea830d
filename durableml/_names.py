"""Naming rules shared by the SDK objects and the pipeline document validator."""

from __future__ import annotations

import re

from durableml.exceptions import InvalidNameError

__all__ = [
    "IDENTIFIER_PATTERN",
    "EXPERIMENT_NAME_PATTERN",
    "is_identifier",
    "check_identifier",
    "check_experiment_name",
    "check_non_empty",
]

# Output, input and parameter names reach step scripts as command-line placeholders and
# environment variables, so they follow the v1 rule: a letter or underscore, then letters,
# digits, underscores; dashes are tolerated because v1 dataset names used them.
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,254}$"
EXPERIMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$"


def is_identifier(value: object) -> bool:
    """Return True when ``value`` is a string that follows IDENTIFIER_PATTERN."""
    return isinstance(value, str) and re.match(IDENTIFIER_PATTERN, value) is not None


def check_identifier(value: object, what: str) -> str:
    """Return ``value`` if it is a valid name for ``what``, else raise InvalidNameError."""
    if not is_identifier(value):
        raise InvalidNameError(
            f"{what} name {value!r} is not valid: use 1-255 letters, digits, '_' or '-', "
            "starting with a letter or '_' (for example 'output_data1')."
        )
    assert isinstance(value, str)
    return value


def check_experiment_name(value: object) -> str:
    """Return ``value`` if it is a valid experiment name (v1 rules), else raise InvalidNameError."""
    if not isinstance(value, str) or re.match(EXPERIMENT_NAME_PATTERN, value) is None:
        raise InvalidNameError(
            f"Experiment name {value!r} is not valid: use 1-255 letters, digits, '_' or '-', "
            "starting with a letter or digit (for example 'Compare_Models_Exp')."
        )
    return value


def check_non_empty(value: object, what: str) -> str:
    """Return ``value`` if it is a non-empty string, else raise InvalidNameError."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidNameError(f"{what} must be a non-empty string, got {value!r}.")
    return value
