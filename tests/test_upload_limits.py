"""Oversized requests: funchost answers 413, the SDK says what was too big, nothing is half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from durableml.config import WorkspaceConfig
from durableml.core import Datastore, Workspace
from durableml.exceptions import ValidationError

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def small_host(funchost_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("limits")
    return funchost_process(ROOT, env={"DURABLEML_STATE_DIR": str(state), "FUNCHOST_MAX_REQUEST_BYTES": str(LIMIT)})


def test_oversized_upload_is_413_and_leaves_nothing(small_host: Any, tmp_path: Path) -> None:
    ws = Workspace(
        "s", "r", "w", config=WorkspaceConfig("s", "r", "w", endpoint=small_host.base_url, key=small_host.function_key)
    )
    store = Datastore(ws, "workspaceblobstore")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (LIMIT * 2))
    with pytest.raises(ValidationError) as info:
        store.upload_files([str(big)], target_path="limits", overwrite=True)
    assert "big.bin" in str(info.value) and "FUNCHOST_MAX_REQUEST_BYTES" in str(info.value)
    listing = requests.get(
        f"{small_host.base_url}/api/datastores/workspaceblobstore/files",
        params={"prefix": "limits/"},
        headers={"x-functions-key": small_host.function_key},
    )
    assert listing.status_code == 200 and listing.json() == []
    small = tmp_path / "small.txt"
    small.write_text("fine")
    store.upload_files([str(small)], target_path="limits", overwrite=True)  # the host is still fine
    assert small_host.is_running()
