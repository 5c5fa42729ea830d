"""Reading infra/*.bicep offline: parse with pycep-parser, render its expressions, resolve app settings, role
assignments and resource names, and scan the code for the app settings it reads.

pycep gives each file as JSON: ``parameters``, ``variables``, ``resources``, ``modules``, ``outputs``. An
expression is a plain value, an identifier (a bare string such as ``"location"``), an interpolated string
(``"st${token}"``), ``{"function": {"type": "to_lower", "parameters": {...}}}`` or
``{"operator": {"type": "property_accessor", "operands": {...}}}``.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@lru_cache(maxsize=None)
def _parser() -> BicepParser:
    return BicepParser()  # building the grammar takes a second or two: once


@lru_cache(maxsize=None)
def parse(path: Path) -> dict[str, Any]:
    return dict(_parser().parse(file_path=path))


def module(name: str) -> dict[str, Any]:
    return parse(INFRA / "modules" / f"{name}.bicep")


def main() -> dict[str, Any]:
    return parse(INFRA / "main.bicep")


def body(declaration: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's or module's config, unwrapping ``= if (condition) {...}``."""
    config = dict(declaration["config"])
    while "condition" in config and "config" in config:
        config = dict(config["config"])
    return config


def text(node: Any) -> str:
    """An expression as one readable string: ``identity.outputs.principalId``, ``guid(a, b)``, ``'literal'``."""
    if isinstance(node, dict) and "operator" in node:
        op = node["operator"]
        operands = op.get("operands", {})
        if op["type"] == "property_accessor":
            return f"{text(operands['operand_1'])}.{text(operands['operand_2'])}"
        if op["type"] == "conditional":
            return f"{text(operands['condition'])} ? {text(operands['true_value'])} : {text(operands['false_value'])}"
        return f"{op['type']}({', '.join(text(v) for v in operands.values())})"
    if isinstance(node, dict) and "function" in node:
        fn = node["function"]
        args = [text(v) for v in (fn.get("parameters") or {}).values() if v is not None]
        rendered = f"{fn['type']}({', '.join(args)})"
        return f"{rendered}.{fn['property_name']}" if fn.get("property_name") else rendered
    if isinstance(node, (list, tuple)):
        return "[" + ", ".join(text(v) for v in node) + "]"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {text(v)}" for k, v in node.items()) + "}"
    return str(node)


def walk(node: Any) -> Iterator[Any]:
    """Every node of a pycep tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from walk(value)


def function_names(tree: Any) -> set[str]:
    """The Bicep functions a tree calls (pycep's snake_case names: ``list_keys``, ``unique_string``...)."""
    return {n["function"]["type"] for n in walk(tree) if isinstance(n, dict) and "function" in n}


# ------------------------------------------------------------------ app settings


def _setting_lists(node: Any, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``{name, value}`` entries an appSettings expression can produce (both branches of a condition)."""
    if isinstance(node, str) and node in variables:
        return _setting_lists(variables[node]["value"], variables)
    if isinstance(node, list):
        return [dict(item) for item in node if isinstance(item, dict) and "name" in item]
    if isinstance(node, dict) and "function" in node and node["function"]["type"] == "concat":
        found: list[dict[str, Any]] = []
        for arg in (node["function"]["parameters"] or {}).values():
            found += _setting_lists(arg, variables)
        return found
    if isinstance(node, dict) and "operator" in node and node["operator"]["type"] == "conditional":
        operands = node["operator"]["operands"]
        return _setting_lists(operands["true_value"], variables) + _setting_lists(operands["false_value"], variables)
    raise AssertionError(f"appSettings expression not understood by the test: {text(node)}")


def app_settings() -> dict[str, str]:
    """Every app setting the Function App can have (name -> value expression), over all parameter values."""
    parsed = module("functionapp")
    site = body(parsed["resources"]["app"])
    entries = _setting_lists(site["properties"]["siteConfig"]["appSettings"], parsed["variables"])
    names = [str(e["name"]) for e in entries]
    assert len(names) == len(set(names)), f"an app setting is set twice: {sorted(names)}"
    return {str(e["name"]): text(e["value"]) for e in entries}


def job_environment() -> dict[str, str]:
    """The step-runner job's container environment (name -> value expression)."""
    job = body(module("containerjobs")["resources"]["job"])
    (container,) = job["properties"]["template"]["containers"]
    return {str(e["name"]): text(e["value"]) for e in container["env"]}


# ------------------------------------------------------------------ role assignments


def role_assignments() -> list[dict[str, str]]:
    """Every role assignment in every file: its file, scope resource type, role id and principal, where the
    principal is followed from the module parameter to what main.bicep passes (``identity.outputs.principalId``)."""
    passed: dict[str, dict[str, str]] = {}
    for declaration in main()["modules"].values():
        path = Path(declaration["detail"]["path"]).stem
        passed[path] = {k: text(v) for k, v in body(declaration)["params"].items()}
    found = []
    for path in bicep_files():
        parsed = parse(path)
        variables = parsed.get("variables", {})
        resources = parsed.get("resources", {})
        for declaration in resources.values():
            if declaration["type"] != "Microsoft.Authorization/roleAssignments":
                continue
            config = body(declaration)
            properties = config["properties"]
            role = properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
            role_text = text(role)
            if role_text.startswith("roles."):
                role_text = variables["roles"]["value"][role_text.split(".", 1)[1]]
            elif role_text in variables:
                role_text = variables[role_text]["value"]
            scope = text(config["scope"])
            principal = text(properties["principalId"])
            origin = passed.get(path.stem, {}).get(principal, principal)
            found.append(
                {
                    "file": path.name,
                    "scope": resources[scope]["type"] if scope in resources else scope,
                    "role": str(role_text),
                    "principal": origin,
                    "principalType": text(properties.get("principalType")),
                }
            )
    return found


# ------------------------------------------------------------------ names


def unique_string(*parts: str) -> str:
    """A stand-in for Bicep's ``uniqueString``: 13 characters of base32 ``[a-z2-7]`` as the real one returns
    (its exact hash is not public). The name rules only depend on that length and alphabet."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:13]


def evaluate(node: Any, scope: Mapping[str, Any]) -> Any:
    """Evaluate a name expression of main.bicep with ``scope`` (parameters and variables already evaluated)."""
    if isinstance(node, bool) or isinstance(node, int):
        return node
    if isinstance(node, str):
        if node in scope:
            return scope[node]
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(evaluate(m.group(1).strip(), scope)), node)
    if isinstance(node, dict) and "operator" in node and node["operator"]["type"] == "property_accessor":
        operands = node["operator"]["operands"]
        return evaluate(operands["operand_1"], scope)[operands["operand_2"]]
    if isinstance(node, dict) and "function" in node:
        fn = node["function"]
        params = fn.get("parameters") or {}
        kind = fn["type"]
        if kind == "subscription":
            return {"id": "/subscriptions/00000000-0000-0000-0000-000000000000"}[fn["property_name"]]
        args = [evaluate(v, scope) for v in params.values() if v is not None]
        if kind == "to_lower":
            return str(args[0]).lower()
        if kind == "unique_string":
            return unique_string(*map(str, args))
        if kind == "take":
            return args[0][: int(args[1])]
        if kind == "replace":
            return str(args[0]).replace(str(args[1]), str(args[2]))
        raise AssertionError(f"name function {kind} not understood by the test")
    if isinstance(node, dict):
        return {k: evaluate(v, scope) for k, v in node.items()}
    raise AssertionError(f"name expression not understood by the test: {text(node)}")


def resource_names(environment_name: str, location: str) -> dict[str, str]:
    """The ``names`` variable of main.bicep, computed for one environment name and location."""
    parsed = main()
    scope: dict[str, Any] = {"environmentName": environment_name, "location": location}
    for name in ("resourceToken", "names"):
        scope[name] = evaluate(parsed["variables"][name]["value"], scope)
    return dict(scope["names"])


# ------------------------------------------------------------------ settings the code reads

SETTING_NAME = re.compile(
    r"^(DURABLEML_|AZUREML_|AzureWebJobs|AzureFunctions|WEBSITE_|APPLICATIONINSIGHTS_|AZURE_)\w*$"
)


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            pairs = [(target, value)]
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
                pairs = list(zip(target.elts, value.elts, strict=True))
            for name, constant in pairs:
                if (
                    isinstance(name, ast.Name)
                    and isinstance(constant, ast.Constant)
                    and isinstance(constant.value, str)
                ):
                    found[name.id] = constant.value
    return found


def _module_file(dotted: str) -> Path | None:
    base = ROOT / Path(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def _module_constants(path: Path) -> dict[str, str]:
    return _constants(ast.parse(path.read_text(encoding="utf-8")))


def _is_os_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)
            and node.value.id == "os") or (isinstance(node, ast.Name) and node.id == "environ")  # fmt: skip


class _Reads(ast.NodeVisitor):
    """Finds the settings a module reads: os.environ.get/pop/setdefault/[...], os.getenv, ``in os.environ``,
    and ``<mapping>.get(NAME)`` / ``<mapping>[NAME]`` where NAME is a setting-named constant (functions that
    take the environment as a parameter)."""

    def __init__(self, path: Path, tree: ast.Module) -> None:
        self.path = path
        self.names: dict[str, str] = dict(_constants(tree))
        self.modules: dict[str, Path] = {}
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or node.level):
                base = node.module or ""
                if node.level:  # from . import x / from ._context import NAME
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                source = _module_file(base) if base else None
                node_module = base
                for alias in node.names:
                    sub = _module_file(f"{node_module}.{alias.name}")
                    if sub is not None:
                        self.modules[alias.asname or alias.name] = sub
                    elif source is not None and alias.name in _module_constants(source):
                        self.names[alias.asname or alias.name] = _module_constants(source)[alias.name]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    source = _module_file(alias.name)
                    if source is not None:
                        self.modules[alias.asname or alias.name] = source
        for node in tree.body:  # NAME = module.NAME
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
                resolved = self._resolve(node.value)
                for target in node.targets:
                    if resolved is not None and isinstance(target, ast.Name):
                        self.names[target.id] = resolved
        self.reads: set[str] = set()
        self.dynamic: list[str] = []

    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.modules:
            return _module_constants(self.modules[node.value.id]).get(node.attr)
        return None

    def _read(self, arg: ast.expr, on_environ: bool, line: int) -> None:
        name = self._resolve(arg)
        if name is not None and (on_environ or SETTING_NAME.match(name)):
            self.reads.add(name)
        elif name is None and on_environ:
            self.dynamic.append(f"{self.path.relative_to(ROOT)}:{line}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault") and node.args:
            self._read(node.args[0], _is_os_environ(func.value), node.lineno)
        elif (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
            isinstance(func, ast.Name) and func.id == "getenv"
        ):
            if node.args:
                self._read(node.args[0], True, node.lineno)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.slice, _is_os_environ(node.value), node.lineno)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)) and _is_os_environ(right):
                self._read(node.left, True, node.lineno)
        self.generic_visit(node)


DEPLOYED_CODE = ("durableml", "triggers", "activities", "orchestrators", "function_app.py", "app_decorators.py")


def settings_read_by_code() -> tuple[dict[str, list[str]], list[str]]:
    """The settings the deployed code reads (name -> files), and the reads whose name is not a constant."""
    reads: dict[str, list[str]] = {}
    dynamic: list[str] = []
    for top in DEPLOYED_CODE:
        paths = [ROOT / top] if top.endswith(".py") else sorted((ROOT / top).rglob("*.py"))
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            visitor = _Reads(path, tree)
            visitor.visit(tree)
            for name in visitor.reads:
                reads.setdefault(name, []).append(str(path.relative_to(ROOT)))
            dynamic += visitor.dynamic
    return reads, dynamic
