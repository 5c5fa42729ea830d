"""The studio's other pages and its sign-in, in a real headless Chromium against funchost + Azurite: ``durableml
studio`` opens the newest run signed in (no key in any URL), and starts a stopped durableml again first,
unauthorised requests are refused server-side, the Runs page filters, Pipelines & endpoints and Schedules
enable/disable, Data & compute shows nodes and every version of a dataset with each version's preview, the
200-step run page renders in under a second, and each page at 1280x800 and 390 px wide."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from durableml import launcher
from durableml.core import Dataset, Workspace
from durableml.pipeline.core import PipelineDraft, PipelineEndpoint, Schedule, ScheduleRecurrence
from tests.polling import wait_until

from ._pipelines import one_step, submit, three_steps, wide
from .conftest import PHONE, href

EXPERIMENT = "studio-pages"
REPO = Path(__file__).resolve().parents[2]


def test_durableml_studio_opens_the_newest_run_signed_in(studio: Any, service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    run = submit(ws, three_steps(ws), EXPERIMENT)
    run.wait_for_completion(show_output=False)
    opened = tmp_path / "opened.txt"
    browser_cmd = tmp_path / "browser.sh"  # what webbrowser starts ($BROWSER): records the link it was given
    browser_cmd.write_text(f'#!/bin/sh\nprintf %s "$1" > {opened}\n')
    browser_cmd.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser_cmd)}
    done = subprocess.run(
        [sys.executable, "-m", "durableml.cli", "studio", "--config", str(service.project / "config.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert service.key not in done.stdout + done.stderr
    link = wait_until(lambda: opened.exists() and opened.read_text(), 10, what="the browser to be started")
    assert service.key not in link and "#login=" in link and "?" not in link, "the code travels in the fragment"
    context = studio.browser.new_context(viewport={"width": 1280, "height": 800})
    studio.contexts.append(context)
    page = context.new_page()
    page.on("request", lambda request: studio.requests.append(request.url))
    page.goto(link)
    wait_until(lambda: run.id in href(page), what="the page's address")  # the newest run's page, its graph drawn
    page.locator("g.node.step").first.wait_for()
    assert "login=" not in href(page), "the code leaves the address bar"
    cookies = context.cookies()
    (session,) = [c for c in cookies if c["name"] == "durableml_studio"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/api/studio"
    assert page.evaluate("document.cookie") == "" and page.evaluate("localStorage.length + sessionStorage.length") == 0
    page2 = context.new_page()  # the one-time code does not sign in a second time
    fresh = studio.browser.new_context()
    studio.contexts.append(fresh)
    again = fresh.new_page()
    again.goto(link)
    again.get_by_text("not valid").wait_for()
    page2.close()
    studio.check_requests()


def _processes_of(state: Path) -> list[str]:
    """Command lines of this machine's processes that name ``state`` (funchost, its Azurite, step workers)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # the process ended meanwhile
            continue
        if str(state) in text:
            found.append(text)
    return found


def test_durableml_studio_starts_a_stopped_durableml_again_and_opens_its_newest_run(
    studio: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path after ``bash scripts/run_main.sh``: the job's durableml (funchost starting its own Azurite in the
    state dir) has stopped; ``durableml studio --state-dir`` starts it again in the background and opens the newest
    run's graph signed in. Everything started here is stopped at the end."""
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)  # the state dir's own Azurite, as run_main.sh has
    state = (tmp_path / "state").resolve()
    first = launcher.LocalDurableml(state, ready_timeout=60)
    try:
        first.start()
        ws = Workspace.from_config(path=str(first.write_config(tmp_path / "project")))
        run = submit(ws, one_step(ws), EXPERIMENT + "-stopped")
        run.wait_for_completion(show_output=False)
        assert run.get_status() == "Finished"
    finally:
        first.stop()
    assert not launcher.status(state).running
    opened = tmp_path / "opened.txt"
    browser_cmd = tmp_path / "browser.sh"  # what webbrowser starts ($BROWSER): records the link it was given
    browser_cmd.write_text(f'#!/bin/sh\nprintf %s "$1" > {opened}\n')
    browser_cmd.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser_cmd)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "durableml.cli", "studio", "--state-dir", str(state)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "starting durableml again" in done.stdout + done.stderr
        again = launcher.status(state)
        assert again.running and again.record is not None, again.message
        endpoint = str(again.record["endpoint"])
        link = wait_until(lambda: opened.exists() and opened.read_text(), 10, what="the browser to be started")
        assert link.startswith(endpoint + "/api/studio#login="), link
        context = studio.browser.new_context(viewport={"width": 1280, "height": 800})
        studio.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(link)
        wait_until(lambda: f"#/run/{run.id}" in href(page), what="the newest run's page")
        page.locator("g.node.step").first.wait_for()  # its graph, drawn from the restarted service's records
        assert page.locator("g.node.step").count() == 1 and "only" in (page.locator("g.node.step").text_content() or "")
        page.locator("#run-status [data-status='Finished']").wait_for()
        context.close()
        studio.contexts.remove(context)
    finally:
        with contextlib.suppress(launcher.LauncherError):  # nothing runs when the CLI failed to start it
            launcher.stop(state)
    assert not launcher.status(state).running
    wait_until(lambda: not _processes_of(state), 20, what=f"every process of {state} to end")


def test_the_studio_refuses_what_is_not_signed_in_or_not_offered(studio: Any, service: Any) -> None:
    base = service.base_url
    assert requests.get(f"{base}/api/studio/api/experiments", timeout=10).status_code == 401
    assert requests.get(f"{base}/api/studio/data/runs", timeout=10).status_code == 401
    bogus = {"Cookie": "durableml_studio=forged"}
    assert requests.get(f"{base}/api/studio/api/experiments", headers=bogus, timeout=10).status_code == 401
    assert requests.post(f"{base}/api/studio/login-codes", timeout=10).status_code == 401  # needs a function key
    page = studio.page(signed_in=False)
    page.get_by_role("heading", name="Not signed in").wait_for()
    signed = studio.page()
    cookie = {c["name"]: c["value"] for c in signed.context.cookies()}
    jar = {"Cookie": f"durableml_studio={cookie['durableml_studio']}"}
    assert requests.get(f"{base}/api/studio/api/experiments", headers=jar, timeout=10).status_code == 200
    # an action without the studio header (what another site's form could send) and a route the studio lacks
    assert requests.post(f"{base}/api/studio/api/runs/x/cancel", headers=jar, timeout=10).status_code == 400
    studio_hdr = {**jar, "x-durableml-studio": "1"}
    refused = requests.post(f"{base}/api/studio/api/snapshots", headers=studio_hdr, json={}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "NotAllowedInStudio"
    assert requests.get(f"{base}/api/studio/api/computes/x/../../snapshots", headers=jar, timeout=10).status_code in (
        403,
        404,
    )
    signed.get_by_role("button", name="Sign out").click()
    signed.get_by_role("heading", name="Not signed in").wait_for()
    assert requests.get(f"{base}/api/studio/api/experiments", headers=jar, timeout=10).status_code == 401


def test_runs_page_lists_filters_and_updates_live(studio: Any, service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    page = studio.page()
    page.goto(f"{service.base_url}/api/studio#/runs")
    page.locator("#runs-table[aria-busy=false]").wait_for()
    gate = tmp_path / "gate"
    run = submit(ws, three_steps(ws, gate=gate, reuse_train=False), EXPERIMENT + "-live")
    row = page.locator(f'tr[data-run-id="{run.id}"]')
    row.wait_for()  # appears without a reload
    row.locator('[data-status="Running"]').wait_for()
    assert "SDK" in row.inner_text()
    gate.write_text("go")
    row.locator('[data-status="Finished"]').wait_for(timeout=90_000)
    steps = service.api("GET", f"/api/runs/{run.id}/steps").json()
    reused = str(sum(1 for s in steps if s["reusedFrom"]))
    wait_until(lambda: row.locator("td.num").inner_text() == reused, what=f"the reused-step count {reused}")
    page.select_option("select[name=experiment]", EXPERIMENT + "-live")
    wait_until(lambda: page.locator("#runs-table tbody tr").count() == 1, what="one run listed")
    page.select_option("select[name=status]", "Failed")
    page.get_by_text("No runs match.").wait_for()
    page.select_option("select[name=status]", "")
    page.select_option("select[name=experiment]", "")
    page.locator(f'tr[data-run-id="{run.id}"]').wait_for()
    studio.shot(page, "runs")
    page.locator(f'tr[data-run-id="{run.id}"] a.run-link').focus()
    page.keyboard.press("Enter")  # keyboard navigation through the list
    wait_until(lambda: f"#/run/{run.id}" in href(page), what="the page's address")
    studio.check_requests()


def test_pipelines_endpoints_and_schedules_enable_and_disable(studio: Any, service: Any) -> None:
    ws = service.workspace()
    published = three_steps(ws).publish(name="studio-published", description="for the studio", version="1")
    endpoint = PipelineEndpoint.publish(ws, name="studio-endpoint", pipeline=published, description="endpoint")
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    recurrence = ScheduleRecurrence(frequency="Day", interval=1, hours=[6], minutes=[30], start_time=start)
    schedule = Schedule.create(
        ws, name="studio-nightly", pipeline_id=published.id, experiment_name=EXPERIMENT, recurrence=recurrence
    )
    watcher = Schedule.create(
        ws,
        name="studio-on-data",
        pipeline_id=published.id,
        experiment_name=EXPERIMENT + "-data",
        datastore=ws.get_default_datastore(),
        path_on_datastore="studio-incoming",
        polling_interval=5,
    )
    PipelineDraft.create(ws, three_steps(ws), name="studio-draft", experiment_name=EXPERIMENT)
    page = studio.page()
    page.goto(f"{service.base_url}/api/studio#/pipelines")
    card = page.locator(f'article[data-pipeline-id="{published.id}"]')
    try:
        card.wait_for(timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"no card for {published.id}; the page says: {page.locator('main').inner_text()}") from exc
    assert "alpha" in card.inner_text() and "float" in card.inner_text()
    assert "curl -X POST" in card.inner_text() and published.id in card.inner_text()
    card.get_by_role("button", name="Show the body's JSON Schema").click()
    card.get_by_text('"ParameterAssignments"').first.wait_for()
    page.get_by_role("heading", name="Drafts (1)").wait_for()
    page.get_by_role("cell", name="studio-draft").wait_for()
    endpoint_card = page.locator(f'article[data-endpoint-id="{endpoint.id}"]')
    assert "0 (default)" in endpoint_card.inner_text()
    studio.shot(page, "pipelines")
    endpoint_card.get_by_role("button", name="Disable").click()
    wait_until(lambda: service.api("GET", f"/api/pipeline-endpoints/{endpoint.id}").json()["status"] == "Disabled")
    page.locator(f'article[data-endpoint-id="{endpoint.id}"]').get_by_role("button", name="Enable").click()
    wait_until(lambda: service.api("GET", f"/api/pipeline-endpoints/{endpoint.id}").json()["status"] == "Active")
    card.get_by_role("button", name="Disable").click()
    wait_until(lambda: service.api("GET", f"/api/published-pipelines/{published.id}").json()["status"] == "Disabled")
    page.locator(f'article[data-pipeline-id="{published.id}"]').get_by_role("button", name="Enable").click()
    wait_until(lambda: service.api("GET", f"/api/published-pipelines/{published.id}").json()["status"] == "Active")

    page.goto(f"{service.base_url}/api/studio#/schedules")
    item = page.locator(f'article[data-schedule-id="{schedule.id}"]')
    try:
        item.wait_for(timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"no schedule {schedule.id}; the page says: {page.locator('main').inner_text()}") from exc
    assert "every 1 day" in item.inner_text()
    next_run = item.locator(".next-run").inner_text()
    assert next_run not in ("—", "") and ("UTC" in next_run or "GMT" in next_run), next_run
    on_data = page.locator(f'article[data-schedule-id="{watcher.id}"]')
    assert "on data changes in workspaceblobstore/studio-incoming" in on_data.inner_text(), on_data.inner_text()
    studio.shot(page, "schedules")
    item.get_by_role("button", name="Disable").click()
    wait_until(lambda: Schedule.get(ws, schedule.id).status == "Disabled", what="the schedule to be disabled")
    page.locator(f'article[data-schedule-id="{schedule.id}"] [data-status="Disabled"]').wait_for()

    rest = requests.post(  # a run through the endpoint's REST URL: the Runs page says so, with the version
        endpoint.endpoint,
        headers={"x-functions-key": service.key},
        json={"ExperimentName": EXPERIMENT + "-rest"},
        timeout=30,
    )
    assert rest.status_code == 200, rest.text
    page.goto(f"{service.base_url}/api/studio#/runs")
    page.locator(f'tr[data-run-id="{rest.json()["Id"]}"]').get_by_text(
        "REST endpoint studio-endpoint, version 0"
    ).wait_for()
    studio.check_requests()


def test_data_and_compute(studio: Any, service: Any, tmp_path: Path) -> None:
    ws = service.workspace()
    store = ws.get_default_datastore()
    table = tmp_path / "iris.csv"
    table.write_text("sepal,petal,species\n5.1,1.4,setosa\n6.2,4.5,versicolor\n")
    store.upload_files([str(table)], target_path="studio-data", overwrite=True, show_progress=False)
    first = Dataset.Tabular.from_delimited_files(path=(store, "studio-data/iris.csv")).register(
        ws, "studio-iris", description="two flowers"
    )
    table.write_text("sepal,petal,species\n4.9,1.3,virginica-only\n")
    store.upload_files([str(table)], target_path="studio-data/v2", overwrite=True, show_progress=False)
    second = Dataset.Tabular.from_delimited_files(path=(store, "studio-data/v2/iris.csv")).register(
        ws, "studio-iris", description="one flower", create_new_version=True
    )
    assert (first.version, second.version) == (1, 2)
    gate = tmp_path / "gate"
    run = submit(ws, three_steps(ws, gate_first=gate), EXPERIMENT + "-compute")
    wait_until(lambda: "prepare waits" in service.api("GET", f"/api/runs/{run.id}/logs").text, 60, what="a step")
    page = studio.page()
    page.goto(f"{service.base_url}/api/studio#/data")
    compute = page.locator('tr[data-compute="studio-cpu"]')
    compute.wait_for()
    assert "1 busy" in compute.inner_text() and "1 idle" in compute.inner_text(), compute.inner_text()
    dataset = page.locator('tr[data-dataset="studio-iris"]')  # every version, the latest chosen; each one's preview
    dataset.locator('select[name=version][data-versions="2"]').wait_for()
    assert dataset.locator("select[name=version] option").all_inner_texts() == ["2 (latest)", "1"]
    assert second.id in dataset.inner_text() and "one flower" in dataset.inner_text()
    dataset.get_by_role("button", name="Preview").click()
    dataset.locator('.dataset-preview[data-version="2"]').get_by_text("virginica-only").wait_for()
    dataset.locator("select[name=version]").select_option("1")
    dataset.get_by_text(first.id).wait_for()
    assert "two flowers" in dataset.inner_text() and "virginica-only" not in dataset.inner_text()
    dataset.get_by_role("button", name="Preview").click()
    dataset.locator('.dataset-preview[data-version="1"]').get_by_text("versicolor").wait_for()
    assert "virginica-only" not in dataset.inner_text()
    missing = page.evaluate("fetch('/api/studio/data/datasets/no-such-set/versions').then((r) => r.status)")
    assert missing == 404
    studio.shot(page, "data")
    gate.write_text("go")
    studio.check_requests()


def test_a_200_step_run_renders_and_stays_usable_while_steps_update(studio: Any, service: Any) -> None:
    """The figures (layout, first show, longest task) are printed for the record, never asserted: timings belong to
    benchmarks (docs/benchmarks.md), and this machine's cores are shared with the rest of the suite."""
    ws = service.workspace()
    run = submit(ws, wide(ws, width=10, depth=20), EXPERIMENT + "-200")
    page = studio.page()
    started = time.monotonic()
    page.goto(f"{service.base_url}/api/studio#/runs")
    page.locator("#runs-table[aria-busy=false]").wait_for()
    page.evaluate(f"() => {{ window.__t0 = performance.now(); location.hash = '#/run/{run.id}'; }}")
    page.locator("g.node.step").nth(199).wait_for()
    assert page.locator("g.node.step").count() == 200
    layout_ms = page.evaluate("window.__studioGraphRenderMs")
    shown_ms = page.evaluate("performance.now() - window.__t0")
    page.evaluate(
        """() => { window.__longTasks = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push(e.duration)))
          .observe({ type: "longtask" }); }"""
    )
    page.locator('g.node.step[data-status="Running"], g.node.step[data-status="Finished"]').first.wait_for()
    page.locator("#cancel-run").click()
    page.locator("#run-status [data-status='Canceled']").wait_for(timeout=120_000)
    probe = page.evaluate(
        "() => new Promise((r) => { const t = performance.now(); setTimeout(() => r(performance.now() - t), 0); })"
    )
    longest = max(page.evaluate("window.__longTasks") or [0])
    studio.shot(page, "run-200", full_page=False)
    print(
        f"200 steps: layout+draw {layout_ms:.0f} ms, shown {shown_ms:.0f} ms, longest task "
        f"while steps "
        f"update {longest:.0f} ms, timer probe {probe:.0f} ms, test {time.monotonic() - started:.1f} s"
    )
    assert probe >= 0  # the page still ran a timer after the updates


def test_pages_fit_a_phone(studio: Any, service: Any) -> None:
    ws = service.workspace()
    runs = service.api("GET", f"/api/experiments/{EXPERIMENT}/runs").json()
    page = studio.page(viewport=PHONE, run_id=runs[0]["id"])
    page.locator("g.node.step").first.wait_for()
    page.locator("g.node.step").first.click()
    page.locator("#step-title").wait_for()
    page.locator("#step-metrics .table-wrap").first.wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the run page is {width} px wide on a {PHONE['width']} px screen"
    studio.shot(page, "run-phone")
    page.goto(f"{service.base_url}/api/studio#/runs")
    page.locator("#runs-table[aria-busy=false]").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    studio.shot(page, "runs-phone")
    del ws


def test_in_entra_mode_the_studio_takes_app_service_s_principal(tmp_path: Path, studio: Any) -> None:
    from tests.e2e.conftest import running_service

    settings = {"DURABLEML_AUTH": "entra", "DURABLEML_ALLOWED_PRINCIPALS": "alice-oid"}
    with running_service(None, tmp_path / "entra", env=settings) as entra:
        base = entra.base_url + "/api/studio"
        anonymous = requests.get(f"{base}/session", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["details"]["signIn"].startswith("/.auth/login/aad")
        alice = {"X-MS-CLIENT-PRINCIPAL-ID": "alice-oid"}
        assert requests.get(f"{base}/session", headers=alice, timeout=10).json()["principal"] == "alice-oid"
        assert requests.get(f"{base}/api/experiments", headers=alice, timeout=10).status_code == 200
        mallory = {"X-MS-CLIENT-PRINCIPAL-ID": "mallory-oid"}
        assert requests.get(f"{base}/api/experiments", headers=mallory, timeout=10).status_code == 403
        assert (
            requests.post(f"{base}/login-codes", headers={"x-functions-key": entra.key}, timeout=10).status_code == 400
        )
        page = studio.page(signed_in=False)
        page.goto(base)
        page.locator("#entra-sign-in").wait_for()  # the page offers App Service's Entra ID sign-in
        assert (
            page.locator("#entra-sign-in").get_attribute("href")
            == "/.auth/login/aad?post_login_redirect_uri=/api/studio"
        )


def test_login_codes_work_once_and_expire_and_so_do_sessions(service: Any, monkeypatch: Any) -> None:
    from durableml import studio_auth
    from durableml.exceptions import AuthenticationException
    from durableml.service import state

    monkeypatch.setenv("DURABLEML_STORAGE", service.azurite.connection_string)
    monkeypatch.delenv("DURABLEML_AUTH", raising=False)
    state.reset()  # this process's storage clients: the service's Azurite
    try:
        code = studio_auth.new_login_code()
        session = studio_auth.redeem(code.code)
        cookie = {"Cookie": f"{studio_auth.COOKIE}={session.token}"}
        assert studio_auth.authorise(cookie).via == "session"
        with pytest.raises(AuthenticationException):
            studio_auth.redeem(code.code)
        late = studio_auth.new_login_code()
        later = studio_auth._now() + dt.timedelta(seconds=studio_auth.CODE_TTL_S + 1)
        monkeypatch.setattr(studio_auth, "_now", lambda: later)
        with pytest.raises(AuthenticationException):
            studio_auth.redeem(late.code)
        much_later = later + dt.timedelta(seconds=studio_auth.SESSION_TTL_S)
        monkeypatch.setattr(studio_auth, "_now", lambda: much_later)
        with pytest.raises(AuthenticationException):
            studio_auth.authorise(cookie)
        assert studio_auth.purge_expired() >= 2  # the late code and the session
    finally:
        state.reset()
