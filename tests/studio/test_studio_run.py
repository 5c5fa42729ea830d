"""The studio's Run page in a real headless Chromium against funchost + Azurite: the graph lights up step by step
without a reload, a failed step shows its error and traceback, cancel and resubmit from the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any


from tests.polling import wait_until

from .conftest import href

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
    image = page.locator("#step-metrics img.metric-image")  # and the logged image, from the run's files
    image.wait_for()
    wait_until(lambda: image.evaluate("(img) => img.complete && img.naturalWidth") == 2, what="the image to load")
    page.locator("#step-log").filter(has_text="step train done").wait_for()
    page.locator("#log-search").fill("alpha=")  # search: only the matching lines stay
    shown = page.locator("#step-log").inner_text()
    assert shown == "step train starts (alpha=0.1)", shown
    page.locator("#log-search").fill("")
    whole = page.evaluate(
        "(u) => fetch(u).then((r) => r.text())", page.get_by_text("Download log").get_attribute("href")
    )
    assert "step train starts" in whole and "step train done" in whole
    page.locator("#step-io").get_by_role("button", name="Files").click()  # the model output's files, downloadable
    result = page.locator("#step-io a", has_text="result.txt")
    result.wait_for()
    assert page.evaluate("(u) => fetch(u).then((r) => r.text())", result.get_attribute("href")) == "train 0.1\n"
    snapshot = page.locator("#step-snapshot")
    snapshot.get_by_text("step.py").wait_for()  # the snapshot's files, and the Git properties of the checkout
    assert "commit" in snapshot.inner_text() and "branch" in snapshot.inner_text()
    studio.shot(page, "run")
    node(page, "prepare").focus()  # keyboard: arrow keys move between the nodes
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("train")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("report")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("train")
    studio.check_requests()


def test_a_failed_step_shows_its_error_and_traceback(studio: Any, service: Any) -> None:
    ws = service.workspace()
    run = submit(ws, three_steps(ws, fail=True), EXPERIMENT + "-fail")
    page = studio.page(run_id=run.id)
    wait_status(page, "train", "Failed")
    assert "failed" in (node(page, "train").get_attribute("aria-label") or "")
    node(page, "train").focus()
    page.keyboard.press("Enter")  # keyboard: a focused node opens with Enter
    error = page.locator("#step-error")
    error.filter(has_text="failed on purpose").wait_for()
    page.locator("#step-traceback").filter(has_text="ValueError: step train failed on purpose").wait_for()
    assert "Traceback (most recent call last)" in page.locator("#step-traceback").inner_text()
    studio.shot(page, "step-failed")
    page.locator("#resume-run").click()  # resume from the failed step: prepare is not run again
    wait_until(lambda: run.id not in href(page) and "#/run/" in href(page), what="the resumed run's page")
    page.get_by_text(f"resumed from run {run.id}").wait_for()
    wait_status(page, "train", "Failed")
    assert node(page, "prepare").get_attribute("data-status") == "Reused"
    studio.check_requests()


def test_cancel_a_run_from_the_page(studio: Any, service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    run = submit(ws, three_steps(ws, gate_first=tmp_path / "never"), EXPERIMENT + "-cancel")
    page = studio.page(run_id=run.id)
    wait_status(page, "prepare", "Running")
    wait_until(
        lambda: "prepare waits" in service.api("GET", f"/api/runs/{run.id}/logs").text, 60, what="a running step"
    )
    page.locator("#cancel-run").click()
    page.locator("#run-status [data-status='Canceled']").wait_for(timeout=90_000)
    assert service.api("GET", f"/api/runs/{run.id}").json()["status"] == "Canceled"
    wait_status(page, "prepare", "Canceled")
    assert node(page, "report").get_attribute("data-status") in ("NotStarted", "Canceled")
    assert page.locator("#cancel-run").count() == 0  # an ended run offers no cancel
    studio.check_requests()


def test_resubmit_with_a_changed_parameter_and_follow_a_reused_step(studio: Any, service: Any) -> None:
    ws = service.workspace()
    first = submit(ws, three_steps(ws), EXPERIMENT + "-resubmit")
    first.wait_for_completion(show_output=False)
    page = studio.page(run_id=first.id)
    page.locator("#run-status [data-status='Finished']").wait_for()
    page.locator("#resubmit-run").click()
    page.locator("#param-alpha").fill("0.5")
    page.locator("#resubmit-go").click()
    wait_until(lambda: first.id not in href(page) and "#/run/" in href(page), what="the page's address")
    second_id = href(page).split("#/run/")[1].split("/")[0]
    record = service.api("GET", f"/api/runs/{second_id}").json()
    assert record["parameters"]["alpha"] == 0.5 and record["experimentName"] == EXPERIMENT + "-resubmit"
    wait_status(page, "report", "Finished")
    # prepare's inputs did not change: reused from the first run; train's alpha did: it ran, and says why
    wait_status(page, "prepare", "Reused")
    node(page, "train").click()
    page.locator("#step-reuse").filter(has_text="alpha").wait_for()
    node(page, "prepare").click()
    link = page.locator("#reused-from")
    link.wait_for()
    original = link.inner_text()
    owner = service.api("GET", f"/api/runs/{original}").json()["parentRunId"]  # the first run, or one it reused
    link.click()
    # the reused-from step run opens in its own pipeline run, its panel open
    wait_until(lambda: f"#/run/{owner}/" in href(page), what="the reused-from run's page")
    page.locator("#step-title").filter(has_text="prepare").wait_for()
    assert original in page.locator(".step-panel").inner_text()
    studio.check_requests()
