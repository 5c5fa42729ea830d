"""The Python v1 programming model: one folder per function, each with a ``function.json``.

funchost loads such an app the way the Functions host and the Python worker do (azure-functions-python-worker's
``loader.py`` and ``functions.py``):

* every direct subfolder of the app holding a ``function.json`` is a function named after the folder; one with
  ``"disabled": true``, or the app setting ``AzureWebJobs.<name>.Disabled`` true, is not loaded;
* its code is ``scriptFile`` (default ``__init__.py``) in that folder, imported as a module of the package
  ``__app__`` (``__app__.<folder>``, or ``__app__.<folder>.<stem>`` for another file), so relative imports between
  the app's folders work; the app folder is also on ``sys.path``;
* the callable is ``entryPoint`` (default ``main``); its parameters and the bindings must match by name (``$return``
  needs no parameter; a ``context`` parameter without a binding gets the invocation context);
* binding directions (``in``/``out``/``inout``) and ``authLevel`` are read case-insensitively, and the older
  binding type name ``orchestrationClient`` is the ``durableClient`` binding.

The result is what :func:`funchost.functions.load_app` turns into the same function index the v2 loader builds
(name, bindings as the v2 model gives them, callable), so every trigger, binding and Durable feature works the same
in both models.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

from funchost.errors import FunctionLoadError

APP_PACKAGE = "__app__"
DEFAULT_SCRIPT = "__init__.py"
DEFAULT_ENTRY_POINT = "main"
_TYPE_ALIASES = {"orchestrationclient": "durableClient"}


def is_v1_app(app_dir: Path) -> bool:
    """True when ``app_dir`` has at least one ``<folder>/function.json``."""
    return any((d / "function.json").is_file() for d in _folders(app_dir))


def load_v1_app(app_dir: Path) -> list[tuple[str, list[dict[str, Any]], Any]]:
    """Import every function folder of ``app_dir``: ``(name, bindings, callable)`` for each enabled function."""
    _install_app_package(app_dir)
    infos = []
    for folder in _folders(app_dir):
        path = folder / "function.json"
        if not path.is_file():
            continue
        spec = _read_spec(path)
        if _disabled(folder.name, spec):
            continue
        bindings = [normalize_binding(b, path) for b in spec.get("bindings") or []]
        if not any(str(b.get("type", "")).endswith("Trigger") for b in bindings):
            raise FunctionLoadError(f"{path}: no trigger binding (a binding whose type ends in 'Trigger')")
        fn = _entry_point(app_dir, folder, spec)
        _check_parameters(folder.name, fn, bindings)
        infos.append((folder.name, bindings, fn))
    if not infos:
        raise FunctionLoadError(f"{app_dir}: every function.json there is disabled; nothing to run")
    return infos


def normalize_binding(binding: dict[str, Any], path: Path) -> dict[str, Any]:
    """A function.json binding in the shape the v2 model's ``get_raw_bindings`` gives (``IN``/``OUT``...)."""
    if not isinstance(binding, dict) or not binding.get("type") or not binding.get("name"):
        raise FunctionLoadError(f"{path}: every binding needs a 'type' and a 'name'; got {binding!r}")
    out = dict(binding)
    out["type"] = _TYPE_ALIASES.get(str(binding["type"]).lower(), str(binding["type"]))
    direction = str(binding.get("direction", "in")).upper()
    if direction not in ("IN", "OUT", "INOUT"):
        raise FunctionLoadError(f"{path}: binding '{binding['name']}' has direction {binding.get('direction')!r}")
    out["direction"] = direction
    if "authLevel" in out:
        out["authLevel"] = str(out["authLevel"]).upper()
    return out


def _folders(app_dir: Path) -> list[Path]:
    return sorted(d for d in app_dir.iterdir() if d.is_dir() and not d.name.startswith("."))


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FunctionLoadError(f"{path} is not valid JSON ({exc}); fix the file and start again") from exc
    if not isinstance(spec, dict):
        raise FunctionLoadError(f"{path} must hold a JSON object with 'bindings'")
    return spec


def _disabled(name: str, spec: dict[str, Any]) -> bool:
    setting = os.environ.get(f"AzureWebJobs.{name}.Disabled", "")
    return bool(spec.get("disabled")) or setting.strip().lower() in ("true", "1")


def _install_app_package(app_dir: Path) -> None:
    """The worker's ``__app__`` package: the app folder as a package, and the folder on ``sys.path``."""
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    package = sys.modules.get(APP_PACKAGE)
    if package is None or list(getattr(package, "__path__", [])) != [root]:
        for name in [m for m in sys.modules if m == APP_PACKAGE or m.startswith(APP_PACKAGE + ".")]:
            del sys.modules[name]
        package = types.ModuleType(APP_PACKAGE)
        package.__path__ = [root]
        package.__file__ = None
        sys.modules[APP_PACKAGE] = package


def _entry_point(app_dir: Path, folder: Path, spec: dict[str, Any]) -> Any:
    script = (folder / str(spec.get("scriptFile") or DEFAULT_SCRIPT)).resolve()
    entry = str(spec.get("entryPoint") or DEFAULT_ENTRY_POINT)
    try:
        rel = script.relative_to(app_dir.resolve())
    except ValueError as exc:
        raise FunctionLoadError(f"{folder / 'function.json'}: scriptFile {script} is outside the app folder") from exc
    if script.suffix != ".py" or not script.is_file():
        raise FunctionLoadError(f"{folder / 'function.json'}: scriptFile {script} is not a Python file that exists")
    parts = list(rel.parent.parts) + ([] if script.stem == "__init__" else [script.stem])
    module_name = ".".join([APP_PACKAGE, *parts])
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # user code: report what failed and where
        raise FunctionLoadError(f"importing {script} failed: {type(exc).__name__}: {exc}") from exc
    fn = getattr(module, entry, None)
    if not callable(fn):
        raise FunctionLoadError(
            f"function '{folder.name}': {script} has no callable '{entry}' (the entryPoint; 'main' by default)"
        )
    return fn


def _check_parameters(name: str, fn: Any, bindings: list[dict[str, Any]]) -> None:
    """The worker's check: the entry point's parameters and the (non-$return) bindings match by name."""
    try:
        params = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return
    declared = {str(b["name"]) for b in bindings if b["name"] != "$return"}
    missing_in_python = declared - params
    missing_in_json = params - declared - {"context"}
    if missing_in_python:
        raise FunctionLoadError(
            f"cannot load the {name} function: the following parameters are declared in function.json but not "
            f"in Python: {_names(missing_in_python)}"
        )
    if missing_in_json:
        raise FunctionLoadError(
            f"cannot load the {name} function: the following parameters are declared in Python but not in "
            f"function.json: {_names(missing_in_json)}"
        )


def _names(names: set[str]) -> str:
    """A set of parameter names as the worker's message prints it: ``{'msg'}``."""
    return "{" + ", ".join(repr(n) for n in sorted(names)) + "}"
