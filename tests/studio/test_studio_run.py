"""The studio's Run page in a real headless Chromium against funchost + Azurite: the graph lights up step by step
without a reload, a failed step shows its error and traceback, cancel and resubmit from the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any


from ._pipelines import submit, three_steps

EXPERIMENT = "studio-run"


def node(page: Any, step_name: str) -> Any:
    return page.locator(f'g.node.step:has(title:text-is("{step_name}"))')


def wait_status(page: Any, step_name: str, status: str, timeout: float = 90) -> None:
    node(page, step_name).and_(page.locator(f'[data-status="{status}"]')).wait_for(timeout=timeout * 1000)


def test_the_graph_lights_up_without_a_reload(studio: Any, service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    gate = tmp_path / "gate"
    run = submit(ws, three_steps(ws, gate=gate), EXPERIMENT)
    page = studio.page(run_id=run.id)
    page.wait_for_selector("svg.graph")
    assert page.locator("g.node.step").count() == 3
    page.evaluate("window.__sameDocument = true")
    wait_status(page, "prepare", "Finished")
    wait_status(page, "train", "Running")
    assert node(page, "report").get_attribute("data-status") == "NotStarted"
    assert "running" in (node(page, "train").get_attribute("aria-label") or "")
    labels = page.locator(".edge-label").all_text_contents()
    assert "prepared_data" in labels and "model" in labels, labels
    studio.shot(page, "run-running")
    gate.write_text("go")
    wait_status(page, "report", "Finished")
    page.locator("#run-status [data-status='Finished']").wait_for()
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    node(page, "train").click()
    page.locator("#step-metrics .table-wrap table").wait_for()
    assert "alpha" in page.locator("#step-metrics").inner_text()
    page.locator("#step-metrics .uplot").first.wait_for()  # the loss series as a line chart
    page.locator("#step-log").filter(has_text="step train done").wait_for()
    studio.shot(page, "run")
    studio.check_requests()
