"""Function keys: a keys file in the state folder, created on first start, like the host's secrets store.

``keys.json`` holds ``{"masterKey", "functionKeys": {"default"}, "systemKeys": {"durabletask_extension"}}``.
Keys are compared in constant time and never logged in full (``redact`` shows a prefix only).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from funchost.errors import ConfigError


@dataclass
class Keys:
    """The host's keys. ``function_ok``/``admin_ok``/``system_ok`` check a presented key."""

    master: str
    function: dict[str, str]
    system: dict[str, str]

    def admin_ok(self, key: Optional[str]) -> bool:
        return bool(key) and hmac.compare_digest(key or "", self.master)

    def function_ok(self, key: Optional[str]) -> bool:
        return self.admin_ok(key) or any(hmac.compare_digest(key or "", k) for k in self.function.values() if key)

    def system_ok(self, key: Optional[str]) -> bool:
        return self.admin_ok(key) or any(hmac.compare_digest(key or "", k) for k in self.system.values() if key)

    @property
    def durable_system_key(self) -> str:
        return self.system["durabletask_extension"]


def redact(key: str) -> str:
    return key[:4] + "…" if key else ""


def _new_key() -> str:
    return secrets.token_urlsafe(40)


def load_or_create(state_dir: Path) -> Keys:
    """Read ``<state_dir>/keys.json``, creating it (mode 0600) with fresh random keys when missing."""
    path = state_dir / "keys.json"
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = Keys(data["masterKey"], dict(data["functionKeys"]), dict(data["systemKeys"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is malformed ({exc}); delete it to have new keys generated") from exc
        if "durabletask_extension" not in keys.system:
            keys.system["durabletask_extension"] = _new_key()
            _write(path, keys)
        return keys
    keys = Keys(_new_key(), {"default": _new_key()}, {"durabletask_extension": _new_key()})
    state_dir.mkdir(parents=True, exist_ok=True)
    _write(path, keys)
    return keys


def ensure_function_key(state_dir: Path, name: str) -> str:
    """The value of function key ``name`` in ``<state_dir>/keys.json``, added (with a fresh value) when missing.

    Like ``az functionapp keys set --key-name <name>`` against the real host; call it before the host starts
    (it reads keys.json once).
    """
    keys = load_or_create(state_dir)
    if name not in keys.function:
        keys.function[name] = _new_key()
        _write(state_dir / "keys.json", keys)
    return keys.function[name]


def _write(path: Path, keys: Keys) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"masterKey": keys.master, "functionKeys": keys.function, "systemKeys": keys.system}, f, indent=2)
    os.replace(tmp, path)
