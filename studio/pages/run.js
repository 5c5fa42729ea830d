// Run: the step graph lighting up live (the API's long poll on the run and its steps), parameters, actions
// (cancel, resubmit with changed parameters, resume from the failed step) and a step's panel.
import { api } from "../api.js";
import { badge, duration, errorBox, h, sleep, stepStatus, table, TERMINAL, toast, when } from "../ui.js";
import { RunGraph } from "./graph.js";
import { StepPanel } from "./steppanel.js";

const WAIT_S = 10;

function paramValue(value) {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function parameterInput(name, spec, value) {
  const type = spec.type;
  const id = `param-${name}`;
  let input;
  if (type === "bool") {
    input = h("select", { id, name }, h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    input.value = String(Boolean(value));
  } else if (type === "int" || type === "float") {
    input = h("input", { id, name, type: "number", step: type === "int" ? "1" : "any", value: String(value) });
  } else if (type === "string") {
    input = h("input", { id, name, value: String(value ?? "") });
  } else {
    input = h("input", { id, name, value: JSON.stringify(value), "aria-describedby": `${id}-hint` });
  }
  const read = () => {
    if (type === "bool") return input.value === "true";
    if (type === "int") return parseInt(input.value, 10);
    if (type === "float") return parseFloat(input.value);
    if (type === "string") return input.value;
    return JSON.parse(input.value);
  };
  return { row: h("div", { class: "param-row" }, h("label", { for: id }, `${name} (${type})`), input), read };
}

export async function runPage(main, runId, openStep, signal) {
  let run = await api.get(`runs/${encodeURIComponent(runId)}`, { signal });
  if (run.kind === "step") { location.replace(`#/run/${encodeURIComponent(run.parentRunId)}/${encodeURIComponent(run.stepId)}`); return; }
  const [graph, origin] = await Promise.all([
    api.data(`runs/${encodeURIComponent(runId)}/graph`, { signal }),
    api.data(`runs/${encodeURIComponent(runId)}/origin`, { signal }),
  ]);
  let steps = new Map();
  const stepNodes = new Map(graph.nodes.filter((n) => n.type === "step").map((n) => [n.id, n]));
  const header = h("div", { class: "run-header" });
  const actions = h("div", { class: "actions", role: "group", "aria-label": "Run actions" });
  const graphBox = h("div", { class: "graph-box", tabindex: "-1" });
  const panelBox = h("aside", { class: "step-panel", "aria-label": "Step details" });
  const params = h("section", { class: "params" });
  const live = h("p", { class: "muted small", role: "status" });
  main.append(h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/runs" }, "Runs"), " / ", runId),
    header, actions, live, h("div", { class: "run-body" }, h("section", { class: "graph-section" }, h("h2", {}, "Steps"), graphBox), panelBox), params);

  const t0 = performance.now();
  const runGraph = new RunGraph(graph, (stepId) => select(stepId));
  graphBox.append(runGraph.svg);
  const panel = new StepPanel(panelBox, signal);
  window.__studioGraphRenderMs = performance.now() - t0; // measured by the browser tests and docs/benchmarks.md

  function select(stepId) {
    runGraph.select(stepId);
    history.replaceState(null, "", `#/run/${encodeURIComponent(runId)}/${encodeURIComponent(stepId)}`);
    panel.show(run, stepNodes.get(stepId), steps.get(stepId), graph);
  }

  function drawHeader() {
    header.replaceChildren(
      h("h1", {}, "Run ", h("span", { class: "mono" }, run.id)),
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "run-status" }, badge(run.status)),
        h("dt", {}, "Experiment"), h("dd", {}, h("a", { href: `#/runs?experiment=${encodeURIComponent(run.experimentName)}` }, run.experimentName)),
        h("dt", {}, "Created"), h("dd", {}, when(run.createdUtc)),
        h("dt", {}, "Duration"), h("dd", {}, duration(run.startTimeUtc, run.endTimeUtc)),
        h("dt", {}, "Started by"), h("dd", {}, origin.text),
        run.error ? h("dt", {}, "Error") : null, run.error ? h("dd", { class: "error-text" }, run.error) : null));
  }

  function drawActions() {
    const terminal = TERMINAL.has(run.status);
    actions.replaceChildren(...[
      !terminal ? h("button", { type: "button", id: "cancel-run", class: "danger", onclick: cancel }, "Cancel run") : null,
      terminal && run.status !== "Finished" ? h("button", { type: "button", id: "resume-run", onclick: resume }, "Resume from the failed step") : null,
      h("button", { type: "button", id: "resubmit-run", onclick: () => resubmitForm() }, "Resubmit…")].filter(Boolean));
  }

  function drawParams() {
    const rows = Object.entries(graph.parameters).map(([name, spec]) =>
      h("tr", {}, h("td", {}, name), h("td", {}, spec.type), h("td", { class: "mono" }, paramValue(run.parameters[name] ?? spec.default))));
    params.replaceChildren(h("h2", {}, "Parameters"), rows.length ? table(["Name", "Type", "Value"], rows) : h("p", { class: "muted" }, "This pipeline has no parameters."));
  }

  function resubmitForm() {
    const inputs = Object.entries(graph.parameters).map(([name, spec]) => [name, parameterInput(name, spec, run.parameters[name] ?? spec.default)]);
    const dialog = h("form", { class: "resubmit", "aria-label": "Resubmit with parameters" },
      h("h2", {}, "Resubmit with parameters"),
      inputs.length ? inputs.map(([, p]) => p.row) : h("p", {}, "No parameters: the same pipeline runs again."),
      h("div", { class: "actions" },
        h("button", { type: "submit", id: "resubmit-go" }, "Submit run"),
        h("button", { type: "button", onclick: () => dialog.remove() }, "Close")));
    dialog.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const values = Object.fromEntries(inputs.map(([name, p]) => [name, p.read()]));
        const created = await api.dataPost(`runs/${encodeURIComponent(run.id)}/resubmit`, { parameters: values });
        toast(`Submitted run ${created.id}`);
        location.hash = `#/run/${encodeURIComponent(created.id)}`;
      } catch (error) { toast(error.message, true); }
    });
    actions.after(dialog);
    dialog.querySelector("input,select,button")?.focus();
  }

  async function cancel() {
    try { await api.post(`runs/${encodeURIComponent(run.id)}/cancel`); toast("Cancel requested"); } catch (error) { toast(error.message, true); }
  }

  async function resume() {
    try {
      const created = await api.post(`runs/${encodeURIComponent(run.id)}/resume`);
      toast(`Resumed as run ${created.id}`);
      location.hash = `#/run/${encodeURIComponent(created.id)}`;
    } catch (error) { toast(error.message, true); }
  }

  function update() {
    for (const id of stepNodes.keys()) {
      const step = steps.get(id);
      const status = stepStatus(step);
      const detail = step && step.startTimeUtc ? duration(step.startTimeUtc, step.endTimeUtc) : "";
      runGraph.setStatus(id, status, detail);
    }
    drawHeader();
    drawActions();
    panel.refresh(run, steps);
  }

  async function loadSteps() {
    const list = await api.get(`runs/${encodeURIComponent(run.id)}/steps`, { signal });
    const byStep = new Map();
    for (const s of list) if (!byStep.has(s.stepId)) byStep.set(s.stepId, s); // newest first
    steps = byStep;
  }

  drawParams();
  await loadSteps();
  update();
  if (openStep && stepNodes.has(openStep)) select(openStep);
  while (!signal.aborted && !TERMINAL.has(run.status)) {
    live.textContent = "Live: updates as steps change.";
    try {
      run = await api.get(`runs/${encodeURIComponent(run.id)}?wait=${WAIT_S}&status=${run.status}&steps=true`, { signal });
      await loadSteps();
      update();
    } catch (error) {
      if (signal.aborted) return;
      live.replaceChildren(errorBox(error));
      await sleep(2000, signal);
    }
  }
  if (!signal.aborted) { await loadSteps(); update(); live.textContent = `Run ${run.status.toLowerCase()}.`; }
}
