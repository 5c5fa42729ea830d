// Runs: pipeline runs across experiments, newest first, filtered by experiment, status, tag and time; refreshed
// every few seconds while the page is open.
import { api } from "../api.js";
import { badge, duration, errorBox, h, sleep, table, when } from "../ui.js";

const STATUSES = ["", "NotStarted", "Queued", "Running", "Finished", "Failed", "Canceled"];
const REFRESH_MS = 2000;

function originCell(origin) {
  const text = origin.text;
  if (origin.kind === "Resume" && origin.resumed_from) {
    return h("span", {}, "resumed from ", h("a", { href: `#/run/${encodeURIComponent(origin.resumed_from)}` }, origin.resumed_from.slice(0, 8)));
  }
  if (origin.kind === "DataChange" && origin.blobs.length) {
    return h("details", {}, h("summary", {}, text), h("ul", {}, origin.blobs.map((b) => h("li", {}, b))));
  }
  return h("span", {}, text);
}

function row(run) {
  const link = h("a", { href: `#/run/${encodeURIComponent(run.id)}`, class: "run-link" }, run.id);
  return h("tr", { "data-run-id": run.id },
    h("td", {}, badge(run.status)),
    h("td", { class: "mono" }, link),
    h("td", {}, run.experimentName),
    h("td", {}, when(run.createdUtc)),
    h("td", {}, duration(run.startTimeUtc, run.endTimeUtc)),
    h("td", {}, originCell(run.origin)),
    h("td", { class: "num" }, String(run.reusedSteps)));
}

export async function runsPage(main, query, signal) {
  const experiments = await api.get("experiments", { signal });
  const field = (label, control) => h("label", {}, h("span", {}, label), control);
  const experiment = h("select", { name: "experiment" }, h("option", { value: "" }, "all experiments"),
    experiments.map((e) => h("option", { value: e.name }, e.name)));
  const status = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s }, s || "any status")));
  const tag = h("input", { name: "tag", placeholder: "name or name=value", size: 16 });
  const since = h("input", { name: "since", type: "datetime-local" });
  const until = h("input", { name: "until", type: "datetime-local" });
  experiment.value = query.get("experiment") || "";
  status.value = query.get("status") || "";
  tag.value = query.get("tag") || "";
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter runs" },
    field("Experiment", experiment), field("Status", status), field("Tag", tag), field("Created since", since), field("Created until", until));
  const body = h("div", { id: "runs-table", "aria-live": "polite", "aria-busy": "true" });
  const updated = h("p", { class: "muted small" });
  main.append(h("h1", {}, "Runs"), form, updated, body);

  const params = () => {
    const p = new URLSearchParams();
    if (experiment.value) p.set("experiment", experiment.value);
    if (status.value) p.set("status", status.value);
    if (tag.value.trim()) p.set("tag", tag.value.trim());
    if (since.value) p.set("since", new Date(since.value).toISOString());
    if (until.value) p.set("until", new Date(until.value).toISOString());
    return p;
  };
  let wake = null;
  form.addEventListener("change", () => wake?.());
  form.addEventListener("submit", (event) => { event.preventDefault(); wake?.(); });
  while (!signal.aborted) {
    try {
      const runs = await api.data(`runs?${params()}`, { signal });
      const known = new Set([...experiment.options].map((o) => o.value));
      for (const r of runs) {
        if (!known.has(r.experimentName)) { experiment.append(h("option", { value: r.experimentName }, r.experimentName)); known.add(r.experimentName); }
      }
      const rows = runs.map(row);
      body.replaceChildren(runs.length
        ? table(["Status", "Run", "Experiment", "Created", "Duration", "Started by", "Reused steps"], rows, "Pipeline runs, newest first")
        : h("p", { class: "empty" }, "No runs match."));
      body.setAttribute("aria-busy", "false");
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} (refreshes every ${REFRESH_MS / 1000} s)`;
    } catch (error) {
      if (signal.aborted) return;
      body.replaceChildren(errorBox(error));
    }
    await new Promise((resolve) => { wake = resolve; sleep(REFRESH_MS, signal).then(resolve); });
  }
}
