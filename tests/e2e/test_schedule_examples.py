"""The issue-6 examples run end to end against a real funchost: examples/batch_scoring (a published
scoring pipeline on a daily schedule, whose first run v1 starts at once) and examples/retraining (an
upload under training-data/ starts the retraining pipeline, which registers a model).

Each example's pipeline.py runs unchanged in a copy of its folder with a config.json for this service,
which has a step key provisioned (as examples/local_durableml.py does) so the training step can
register its model.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from .conftest import Service, running_service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def service(funchost_process: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(funchost_process, tmp_path_factory.mktemp("examples"), step_key=True) as svc:
        yield svc


def run_example(service: Any, tmp_path: Path, name: str, *args: str) -> str:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("config.json", "results", "__pycache__"))
    service.write_config(folder)
    done = subprocess.run(
        [sys.executable, "pipeline.py", *args], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_batch_scoring_publishes_schedules_daily_and_its_first_run_scores_todays_files(
    service: Any, tmp_path: Path
) -> None:
    out = run_example(service, tmp_path, "batch_scoring")
    assert "next run at" in out and "scored 5 rows from 2 file(s)" in out, out
    scores = sorted((tmp_path / "batch_scoring" / "results").rglob("*.csv"))
    assert [p.name for p in scores] == ["batch-a.csv", "batch-b.csv"]
    assert scores[0].read_text().splitlines()[:2] == ["id,score", "a1,0.2000"]  # 0.1 + 0.8*1.0 - 0.35*2.0


@pytest.mark.parametrize("upload", ["data/day1.csv", "data/day2.csv"])
def test_retraining_runs_when_training_data_lands_and_registers_a_new_model_version(
    service: Any, tmp_path: Path, upload: str
) -> None:
    out = run_example(service, tmp_path, "retraining", "--upload", upload)
    assert "the upload started run" in out and "model retrained-line version" in out, out
    points, version = (40, 1) if upload.endswith("day1.csv") else (60, 2)  # the file that landed, a new version
    assert f"trained on {points} points from 1 file(s)" in out and f"version {version}," in out, out
