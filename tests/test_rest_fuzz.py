"""Fuzz the HTTP API from its own OpenAPI document: generated bad input never gets a 5xx or crashes the host.

Every operation of ``GET /api/openapi.json`` is driven by Hypothesis with values drawn from the
operation's schemas (path and query parameters, the JSON body), mutated and mixed with arbitrary JSON,
raw non-JSON bytes and ids of real published pipelines and endpoints (so requests reach deep code, not
only 404s). Each answer must be below 500, and error answers must carry the documented
``{"error": {"code", "message"}}`` body. After the run the host must still be up and its log must hold
no unhandled traceback. A private Azurite and funchost keep the generated junk away from other tests;
``max_examples`` per operation keeps the run bounded (a few hundred requests in all).
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.private_host import private_host, seed_objects  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_NAMES = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12)
# names and paths that try to leave their prefix (issue 17): '..' and separators in their encodings, NUL, long
_PATHS = st.lists(
    st.sampled_from(["..", "%2e%2e", "%252e", "．．", "‥", "/", "\\", "%2f", "%5c", "／", "\x00", "a", "名", " "]),
    min_size=1,
    max_size=6,
).map("".join) | st.sampled_from(["x" * 5000, "/leading", "a" * 300])


class Api:
    """The fuzzed service: base URL, key, OpenAPI document and ids of real objects to aim at."""

    def __init__(self, base: str, key: str, host: Any) -> None:
        self.base, self.key, self.host = base, key, host
        self.session = requests.Session()
        self.document: dict[str, Any] = self.session.get(
            f"{base}/api/openapi.json", timeout=30, headers={"x-functions-key": key}
        ).json()
        self.ids: list[str] = []


@pytest.fixture(scope="module")
def api(funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with private_host(funchost_process, tmp_path_factory.mktemp("fuzz")) as host:
        fuzzed = Api(host.base_url, host.function_key, host)
        _seed_objects(fuzzed)
        yield fuzzed
        fuzzed.session.close()


def _seed_objects(api: Api) -> None:
    """A published pipeline (publishing a valid document), an endpoint and a draft to aim requests at."""
    ids = seed_objects(api.session, api.base, api.key, "fuzz")
    api.ids = [ids["pipeline"], ids["endpoint"], ids["draft"], "fuzz", "0", "1"]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        ref = schema["$ref"]
        if ref.startswith("#/$defs/"):  # the pipeline document's own refs, relative to its schema
            target = document["components"]["schemas"]["PipelineDocument"]
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def from_schema(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped like ``schema`` (loosely: wrong types and extra keys are mixed in on purpose)."""
    schema = _resolve(schema, document)
    if depth > 3:
        return _JSON
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of([from_schema(s, document, depth + 1) for s in schema.get("oneOf") or schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | _JSON
    if "const" in schema:
        return st.just(schema["const"]) | _JSON
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = {k: from_schema(v, document, depth + 1) for k, v in (schema.get("properties") or {}).items()}
        required = set(schema.get("required") or [])
        shaped = st.fixed_dictionaries(
            {k: v for k, v in properties.items() if k in required},
            optional={k: v for k, v in properties.items() if k not in required},
        )
        return shaped | st.dictionaries(st.text(max_size=8), _JSON, max_size=3)
    if kind == "array":
        return st.lists(from_schema(schema.get("items") or {}, document, depth + 1), max_size=3) | _JSON
    if kind == "string":
        return st.text(max_size=20) | _NAMES
    if kind in ("integer", "number"):
        return st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _JSON
    if kind == "boolean":
        return st.booleans() | _JSON
    return _JSON


def _operations() -> list[tuple[str, str]]:
    from durableml.service import openapi

    return sorted((path, method) for path, ops in openapi.document()["paths"].items() for method in ops)


@pytest.mark.parametrize(("path", "method"), _operations())
def test_generated_requests_get_no_server_error(api: Api, path: str, method: str) -> None:
    operation = api.document["paths"][path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        url = api.base + path
        for param in operation.get("parameters", []):
            if param["in"] == "path":
                value = data.draw(
                    st.sampled_from(api.ids) | _NAMES | st.text(max_size=15) | _PATHS, label=param["name"]
                )
                raw = param["name"] in ("path", "name") and data.draw(st.booleans(), label="slashes kept")
                url = url.replace("{" + param["name"] + "}", quote(value, safe="/" if raw else "") or "x")
        query = {
            p["name"]: data.draw(_NAMES | st.sampled_from(api.ids) | st.text(max_size=10), label=p["name"])
            for p in operation.get("parameters", [])
            if p["in"] == "query" and data.draw(st.booleans())
        }
        headers = {"x-functions-key": api.key}
        if any(p["in"] == "header" for p in operation.get("parameters", [])) and data.draw(st.booleans()):
            headers["Idempotency-Key"] = data.draw(st.text(min_size=1, max_size=300), label="Idempotency-Key")
        body: dict[str, Any] = {}
        content = (operation.get("requestBody") or {}).get("content") or {}
        if "application/json" in content:
            choice = data.draw(st.sampled_from(["shaped", "junk", "bytes", "deep"]), label="body kind")
            if choice == "bytes":
                body["data"] = data.draw(st.binary(max_size=64), label="raw body")
            elif choice == "deep":  # nested past the body parser's bound (a RecursionError was a 500)
                depth = data.draw(st.integers(65, 20_000), label="depth")
                body["data"] = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
                headers["Content-Type"] = "application/json"
            else:
                schema = content["application/json"]["schema"]
                value = data.draw(from_schema(schema, api.document) if choice == "shaped" else _JSON, label="body")
                body["data"] = json.dumps(value).encode()
                headers["Content-Type"] = "application/json"
        elif content:
            body["data"] = data.draw(st.binary(max_size=64), label="raw body")
        try:
            response = api.session.request(method.upper(), url, params=query, headers=headers, timeout=60, **body)
        except (UnicodeError, ValueError):  # a header value requests itself refuses to send
            return
        assert response.status_code < 500, (
            f"{method.upper()} {url} {query} {body}: {response.status_code} {response.text[:300]}"
        )
        if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
            error = response.json().get("error") if isinstance(response.json(), dict) else None
            assert error and error.get("code") and error.get("message"), response.text

    fuzz()


def test_host_survived_the_fuzzing(api: Api) -> None:
    assert api.host.is_running()
    answer = api.session.get(f"{api.base}/api/workspace", headers={"x-functions-key": api.key}, timeout=30)
    assert answer.status_code == 200
    log = api.host.output()  # (aiohttp logs the requests it refuses itself, with a traceback: those are 400s)
    for failure in ("(Failed)", "unexpected error in the durableml API"):
        assert failure not in log, log[-3000:]
