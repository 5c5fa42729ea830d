"""The documented error hierarchy: v1 names, matching builtins, the drawn tree, JSON bodies."""

from __future__ import annotations

import inspect

import pytest

from durableml import exceptions
from durableml.exceptions import (
    AzureMLException,
    ComputeTargetException,
    ComputeTargetNotFoundError,
    DatastoreNotFoundError,
    Issue,
    NotSupportedError,
    PipelineValidationError,
    ServiceNotConnectedError,
    UnsupportedAttributeError,
    UserErrorException,
    ValidationError,
)

ERRORS = [
    obj
    for name, obj in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(obj, BaseException) and not name.startswith("_")
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_error_is_in_the_drawn_tree_and_derives_from_the_v1_base(error: type[BaseException]) -> None:
    assert issubclass(error, AzureMLException)
    assert error.__name__ in (exceptions.__doc__ or ""), f"{error.__name__} is missing from the module docstring's tree"


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ValidationError, ValueError),
        (DatastoreNotFoundError, LookupError),
        (NotSupportedError, NotImplementedError),
        (UnsupportedAttributeError, AttributeError),
        (ComputeTargetNotFoundError, LookupError),
        (ServiceNotConnectedError, ConnectionError),
    ],
)
def test_domain_errors_also_inherit_the_matching_builtin(
    error: type[BaseException], builtin: type[BaseException]
) -> None:
    assert issubclass(error, builtin)


def test_v1_catch_clauses_still_work() -> None:
    assert issubclass(DatastoreNotFoundError, UserErrorException)
    assert issubclass(ComputeTargetNotFoundError, ComputeTargetException)
    assert not issubclass(ComputeTargetException, UserErrorException)


def test_not_supported_error_names_the_feature() -> None:
    error = NotSupportedError("AutoMLStep", "Use a PythonScriptStep.")
    assert str(error) == "AutoMLStep is not supported by durableml yet. Use a PythonScriptStep."
    assert error.to_dict() == {"code": "NotSupported", "message": str(error), "details": {"feature": "AutoMLStep"}}


def test_issue_errors_list_every_issue() -> None:
    error = PipelineValidationError(
        "The pipeline is not valid", [Issue("cycle", "a -> b -> a", "steps"), Issue("x", "y")]
    )
    assert "(2 problem(s))" in str(error) and "steps: a -> b -> a" in str(error)
    assert error.to_dict()["details"]["issues"][0] == {"code": "cycle", "message": "a -> b -> a", "path": "steps"}
