"""Data on other storage accounts: a pipeline reads a partner's private container and a public one.

    python examples/other_accounts/run.py [--keep-running]

Starts durableml locally with two more Azurite storage accounts (as ``durableml up --account partnerdata
--account publicdata`` does), plays the data owners (uploads a partner's sales files to a private container of
``partnerdata`` and a holiday calendar to a container of ``publicdata`` open to anonymous reads), then runs
``pipeline.py``: v1 code, run with the ``azureml`` alias, that registers both containers as datastores (the
partner's with its account key, the public one with no credential) and runs a step that mounts one and
downloads the other. The report lands in ``results/``. Offline: everything is on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from durableml.launcher import LauncherError, LocalDurableml  # noqa: E402
from funchost.azurite import account_key  # noqa: E402

PARTNER, PUBLIC = "partnerdata", "publicdata"


def upload_as_data_owners(service: LocalDurableml) -> None:
    """What the owners of the two other accounts did before: their data, with their own credentials."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    blob_endpoint = dict(p.split("=", 1) for p in service.host.env["AzureWebJobsStorage"].split(";") if "=" in p)[
        "BlobEndpoint"
    ].rsplit("/", 1)[0]
    for account, container, public, folder in (
        (PARTNER, "sales", None, HERE / "data" / "sales"),
        (PUBLIC, "holidays", "container", HERE / "data" / "holidays"),
    ):
        owner = BlobServiceClient(
            f"{blob_endpoint}/{account}", credential={"account_name": account, "account_key": account_key(account)}
        )
        try:
            owner.create_container(container, public_access=public)
        except ResourceExistsError:
            pass
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                blob = path.relative_to(folder).as_posix()
                owner.get_container_client(container).upload_blob(blob, path.read_bytes(), overwrite=True)
        print(f"{account}/{container}: uploaded {folder.relative_to(HERE)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-running", action="store_true", help="leave durableml running afterwards")
    args = parser.parse_args()
    service = LocalDurableml(REPO / ".funchost" / "other_accounts", accounts=[PARTNER, PUBLIC])
    try:
        service.check()
        print(f"starting durableml (funchost + Azurite with accounts {PARTNER}, {PUBLIC}); log: {service.log_path}")
        started = time.monotonic()
        service.start()
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"durableml is ready at {service.base_url} ({time.monotonic() - started:.1f} s)\n", flush=True)
    try:
        service.note_config(service.write_config(HERE / "project"))
        upload_as_data_owners(service)
        # the partner gave us its account key; v1 code typically reads it from the environment or a key vault
        env = {**os.environ, "PARTNER_ACCOUNT_KEY": account_key(PARTNER)}
        shutil.rmtree(HERE / "results", ignore_errors=True)  # this run's report only
        command = [sys.executable, "-m", "durableml.compat", "pipeline.py"]
        return subprocess.run(command, cwd=HERE / "project", env=env).returncode
    finally:
        if args.keep_running:
            print(
                f"\ndurableml keeps running at {service.base_url}; stop it with: .venv/bin/durableml down "
                f"--state-dir {service.state_dir.relative_to(REPO)} (in {REPO})"
            )
        else:
            service.stop()


if __name__ == "__main__":
    raise SystemExit(main())
