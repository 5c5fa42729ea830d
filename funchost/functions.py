"""Loading a Python v2 function app and indexing its functions, as the Python worker does."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from funchost.errors import FunctionLoadError
from funchost.function_json import is_v1_app, load_v1_app


@dataclass
class FunctionInfo:
    """One indexed function: its name, bindings and the Python callable the worker would invoke."""

    name: str
    bindings: list[dict[str, Any]]
    user_fn: Callable[..., Any]

    @property
    def trigger(self) -> dict[str, Any]:
        for binding in self.bindings:
            if binding.get("type", "").endswith("Trigger"):
                return binding
        raise FunctionLoadError(f"function '{self.name}' has no trigger binding")

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def durable_name(self) -> str:
        """The name Durable Functions knows it by (binding alias, else function name)."""
        trig = self.trigger
        return str(trig.get("orchestration") or trig.get("activity") or trig.get("entityName") or self.name)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_fn)

    def bindings_of(self, binding_type: str, direction: str | None = None) -> list[dict[str, Any]]:
        return [
            b
            for b in self.bindings
            if b.get("type") == binding_type and (direction is None or b.get("direction") == direction)
        ]


@dataclass
class FunctionIndex:
    """All functions of an app, looked up case-insensitively like the Functions host. The list is fixed once the app
    is indexed; :meth:`durable` answers from a table built on first use (the engine looks a function up for every
    episode and activity)."""

    functions: list[FunctionInfo]
    _durable: dict[tuple[str, str], FunctionInfo] | None = field(default=None, init=False, repr=False, compare=False)

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        return [f for f in self.functions if f.trigger_type == trigger_type]

    def durable(self, trigger_type: str, name: str) -> FunctionInfo | None:
        if self._durable is None:
            table: dict[tuple[str, str], FunctionInfo] = {}
            for f in self.functions:
                table.setdefault((f.trigger_type, f.durable_name.lower()), f)  # the first one wins, as before
            self._durable = table
        return self._durable.get((trigger_type, name.lower()))

    def durable_names(self, trigger_type: str) -> list[str]:
        return [f.durable_name for f in self.by_trigger(trigger_type)]


def load_app(app_dir: Path, script_file: str = "function_app.py") -> FunctionIndex:
    """Index the app in ``app_dir``: the v2 model (``function_app.py``, indexed with ``app.get_functions()``), else
    the v1 model (a ``function.json`` per function folder, :mod:`funchost.function_json`)."""
    path = app_dir / script_file
    if not path.exists():
        if is_v1_app(app_dir):
            return FunctionIndex([FunctionInfo(n, b, fn) for n, b, fn in load_v1_app(app_dir)])
        raise FunctionLoadError(
            f"no {script_file} (v2 programming model) and no <function>/function.json (v1) in {app_dir}; "
            "pass --app with the folder of your function app"
        )
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # user code: report what failed and where
        raise FunctionLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    app = _find_app(module, path)
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise FunctionLoadError(f"indexing {path} failed: {exc}") from exc
    infos = []
    for fn in functions:
        bindings = [json.loads(b) if isinstance(b, str) else dict(b) for b in fn.get_raw_bindings()]
        infos.append(FunctionInfo(name=fn.get_function_name(), bindings=bindings, user_fn=fn.get_user_function()))
    _check_names(infos, path)
    return FunctionIndex(infos)


def _find_app(module: Any, path: Path) -> Any:
    from azure.functions import FunctionRegister

    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if len(apps) != 1:
        raise FunctionLoadError(f"{path} must define exactly one FunctionApp/DFApp at module level, found {len(apps)}")
    return apps[0]


def _check_names(infos: list[FunctionInfo], path: Path) -> None:
    seen: dict[str, str] = {}
    for info in infos:
        key = info.name.lower()
        if key in seen:
            raise FunctionLoadError(f"{path}: function names '{seen[key]}' and '{info.name}' differ only in case")
        seen[key] = info.name
        for b in info.bindings:
            if b.get("type") in ("orchestrationTrigger", "entityTrigger") and b.get("name") != "context":
                raise FunctionLoadError(
                    f"function '{info.name}': the {b['type']} parameter must be named 'context' "
                    f"(got '{b.get('name')}'); the Python worker fails to load it otherwise"
                )
