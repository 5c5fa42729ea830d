"""Route templates (ASP.NET style, as the Functions host matches them) and the keys file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from funchost.errors import ConfigError
from funchost.keys import load_or_create, redact
from funchost.routes import compile_route


@pytest.mark.parametrize(
    "template,path,expected",
    [
        ("orders/{id}", "orders/42", {"id": "42"}),
        ("orders/{id}", "ORDERS/42", {"id": "42"}),
        ("orders/{id}", "orders", None),
        ("orders/{id?}", "orders", {}),
        ("orders/{id?}", "orders/7", {"id": "7"}),
        ("items/{n:int}", "items/12", {"n": "12"}),
        ("items/{n:int}", "items/abc", None),
        ("files/{*rest}", "files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{*rest}", "files", {}),
        ("a/{x:alpha}/b", "a/xyz/b", {"x": "xyz"}),
        ("a/{x:alpha}/b", "a/x1/b", None),
        (
            "orchestrators/{functionName}/{instanceId?}",
            "orchestrators/chain/abc",
            {"functionName": "chain", "instanceId": "abc"},
        ),
    ],
)
def test_route_matching(template: str, path: str, expected: dict | None) -> None:
    assert compile_route(template).match(path) == expected


def test_literal_routes_take_precedence_over_parameters() -> None:
    routes = sorted([compile_route("items/{id}"), compile_route("items/special")], key=lambda r: r.precedence)
    assert routes[0].template == "items/special"


def test_bad_template_names_the_segment() -> None:
    with pytest.raises(ConfigError, match="segment 'x{y'"):
        compile_route("a/x{y")


def test_keys_created_once_private_and_checked(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    path = tmp_path / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create(tmp_path)
    assert again == keys
    assert keys.function_ok(keys.function["default"]) and keys.function_ok(keys.master)
    assert not keys.function_ok("wrong") and not keys.function_ok(None) and not keys.function_ok("")
    assert keys.admin_ok(keys.master) and not keys.admin_ok(keys.function["default"])
    assert keys.system_ok(keys.durable_system_key) and not keys.system_ok(keys.function["default"])
    assert redact(keys.master) != keys.master and len(redact(keys.master)) < 8


def test_malformed_keys_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text(json.dumps({"masterKey": "x"}))
    with pytest.raises(ConfigError, match="delete it"):
        load_or_create(tmp_path)
