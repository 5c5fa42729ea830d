// A step's panel: arguments, inputs/outputs with datastore paths and downloads, logs (streaming while the step
// runs, searchable, downloadable whole), metrics (table, uPlot line charts, images), the reuse explanation, the
// error with its traceback, and the snapshot's files with the Git properties.
import { api } from "../api.js";
import { badge, duration, h, sleep, stepStatus, table, TERMINAL, when } from "../ui.js";

const enc = encodeURIComponent;

function argText(arg, run) {
  if (arg === null || typeof arg !== "object") return String(arg);
  if (arg.kind === "literal") return String(arg.value);
  if (arg.kind === "parameter") return `${run.parameters[arg.name] ?? "?"} (parameter ${arg.name})`;
  return `<${arg.kind} ${arg.name}>`;
}

function traceback(log) {
  const at = log.lastIndexOf("Traceback (most recent call last):");
  return at >= 0 ? log.slice(at).split("\n").slice(0, 60).join("\n") : "";
}

function numbers(value) {
  return Array.isArray(value) && value.length > 1 && value.every((v) => typeof v === "number");
}

export class StepPanel {
  constructor(box, signal) {
    this.box = box;
    this.signal = signal;
    this.node = null;
    this.step = null;
    this.token = 0;
    box.replaceChildren(h("p", { class: "muted" }, "Select a step (click, or Tab to it and press Enter) to see its details."));
  }

  refresh(run, steps) {
    if (!this.node) return;
    const step = steps.get(this.node.id);
    const changed = (step?.id !== this.step?.id) || (step?.status !== this.step?.status);
    this.run = run;
    if (changed) this.show(run, this.node, step, this.graph, true);
  }

  show(run, node, step, graph, keepFocus = false) {
    this.run = run; this.node = node; this.step = step; this.graph = graph;
    const token = ++this.token;
    const status = stepStatus(step);
    const sections = h("div", { class: "panel-sections" });
    const close = h("button", { type: "button", class: "small", onclick: () => { this.node = null; this.box.replaceChildren(); } }, "Close");
    this.box.replaceChildren(
      h("div", { class: "panel-head" }, h("h2", { id: "step-title", tabindex: "-1" }, node.name), close),
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "step-status" }, badge(status)),
        h("dt", {}, "Kind"), h("dd", {}, node.kind),
        h("dt", {}, "Compute"), h("dd", {}, node.computeTarget || "local"),
        h("dt", {}, "Step run"), h("dd", { class: "mono" }, step ? step.id : "not started yet"),
        h("dt", {}, "Duration"), h("dd", {}, step ? duration(step.startTimeUtc, step.endTimeUtc) : "—")),
      sections);
    if (!keepFocus) this.box.querySelector("#step-title").focus();
    const add = (title, content, id) => sections.append(h("section", { id }, h("h3", {}, title), content));
    if (step && step.error) add("Error", this.errorBox(step), "step-error");
    add("Arguments", node.arguments.length
      ? h("ol", { class: "mono args" }, node.arguments.map((a) => h("li", {}, argText(a, run))))
      : h("p", { class: "muted" }, "none"), "step-args");
    add("Inputs and outputs", this.io(node, step), "step-io");
    if (!step) return;
    const logs = h("div", {});
    add("Logs", logs, "step-logs");
    const metrics = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    add("Metrics", metrics, "step-metrics");
    const reuse = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    add("Reuse", reuse, "step-reuse");
    const snapshot = h("div", {});
    add("Snapshot and Git", snapshot, "step-snapshot");
    this.streamLogs(step, logs, token);
    this.loadMetrics(step, metrics);
    this.loadReuse(step, reuse);
    this.loadSnapshot(node, step, snapshot);
  }

  errorBox(step) {
    const pre = h("pre", { class: "traceback", id: "step-traceback" }, "");
    api.text(`runs/${enc(step.id)}/logs`, { signal: this.signal }).then((log) => { pre.textContent = traceback(log); }).catch(() => {});
    return h("div", { class: "error-box", role: "alert" }, h("p", { class: "error-text" }, step.error), pre);
  }

  io(node, step) {
    const rows = [];
    for (const [name, input] of Object.entries(node.inputs)) {
      rows.push(h("tr", {}, h("td", {}, "input"), h("td", {}, name), h("td", { class: "mono" }, input.source), h("td", {}, input.mode || "")));
    }
    for (const [name, output] of Object.entries(node.outputs)) {
      const where = step?.outputs?.[name];
      const path = where ? `${where.datastore}/${where.path}` : `${output.datastore || "(default)"}/${output.destination}`;
      const files = h("div", {});
      const list = where ? h("button", {
        type: "button", class: "small",
        onclick: async () => {
          try {
            const names = await api.get(`datastores/${enc(where.datastore)}/files?prefix=${enc(where.path + "/")}`, { signal: this.signal });
            files.replaceChildren(h("ul", {}, names.slice(0, 50).map((f) => {
              const file = typeof f === "string" ? f : f.name || f.path;
              return h("li", {}, h("a", { href: api.url(`datastores/${enc(where.datastore)}/files/${file.split("/").map(enc).join("/")}`), download: file.split("/").pop() }, file));
            })));
          } catch (error) { files.textContent = error.message; }
        },
      }, "Files") : null;
      rows.push(h("tr", {}, h("td", {}, "output"), h("td", {}, name), h("td", { class: "mono" }, path, files), h("td", {}, list)));
    }
    return rows.length ? table(["", "Name", "Data (datastore path)", ""], rows) : h("p", { class: "muted" }, "none");
  }

  async streamLogs(step, box, token) {
    const search = h("input", { type: "search", placeholder: "Search the log", "aria-label": "Search the log", id: "log-search" });
    const pre = h("pre", { class: "log", id: "step-log", tabindex: "0", "aria-label": "Step log" });
    const download = h("a", { href: api.url(`runs/${enc(step.id)}/logs`), download: `${step.name || "step"}-${step.id}.log`, class: "button small" }, "Download log");
    const count = h("span", { class: "muted small" });
    box.replaceChildren(h("div", { class: "log-tools" }, search, download, count), pre);
    let text = "";
    const render = () => {
      const q = search.value.trim().toLowerCase();
      const lines = text.split("\n");
      const shown = q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
      pre.textContent = shown.join("\n");
      count.textContent = q ? `${shown.length} matching lines` : `${lines.length} lines`;
      if (!q) pre.scrollTop = pre.scrollHeight;
    };
    search.addEventListener("input", render);
    while (!this.signal.aborted && token === this.token) {
      try {
        const more = await api.text(`runs/${enc(step.id)}/logs?offset=${text.length}`, { signal: this.signal });
        if (more) { text += more; render(); }
      } catch (error) { if (this.signal.aborted) return; count.textContent = error.message; }
      if (TERMINAL.has(this.step?.status) && this.step?.id === step.id) {
        const rest = await api.text(`runs/${enc(step.id)}/logs?offset=${text.length}`, { signal: this.signal }).catch(() => "");
        if (rest) { text += rest; render(); }
        if (!text) pre.textContent = "(no log)";
        return;
      }
      await sleep(1000, this.signal);
    }
  }

  async loadMetrics(step, box) {
    try {
      const [metrics, files] = await Promise.all([
        api.get(`runs/${enc(step.id)}/metrics`, { signal: this.signal }),
        api.get(`runs/${enc(step.id)}/files/`, { signal: this.signal }).catch(() => []),
      ]);
      const scalars = [], series = [], images = [];
      for (const [name, value] of Object.entries(metrics)) {
        if (typeof value === "string" && /\.(png|jpe?g|gif|svg)$/i.test(value)) images.push([name, value]);
        else if (numbers(value)) series.push([name, value]);
        else scalars.push([name, value]);
      }
      const parts = [];
      if (scalars.length) parts.push(table(["Metric", "Value"], scalars.map(([n, v]) => h("tr", {}, h("td", {}, n), h("td", { class: "mono" }, typeof v === "object" ? JSON.stringify(v) : String(v))))));
      for (const [name, values] of series) {
        const chart = h("div", { class: "chart", role: "img", "aria-label": `${name}: ${values.length} values, last ${values[values.length - 1]}` });
        parts.push(h("figure", {}, h("figcaption", {}, name), chart));
        requestAnimationFrame(() => {
          const width = Math.max(240, Math.min(520, chart.clientWidth || 480));
          new uPlot({ width, height: 180, scales: { x: { time: false } }, series: [{ label: "step" }, { label: name, stroke: "#2563eb", width: 2 }] },
            [values.map((_, i) => i), values], chart);
        });
      }
      for (const [name, path] of images) {
        const base = path.split("/").pop();
        const file = files.find((f) => f.endsWith("/" + base) || f === base);
        parts.push(h("figure", {}, h("figcaption", {}, name),
          file ? h("img", { src: api.url(`runs/${enc(step.id)}/files/${file.split("/").map(enc).join("/")}`), alt: name, class: "metric-image" }) : h("p", { class: "muted" }, `${base} (not uploaded)`)));
      }
      box.replaceChildren(...(parts.length ? parts : [h("p", { class: "muted" }, "No metrics logged.")]));
    } catch (error) { box.textContent = error.message; }
  }

  async loadReuse(step, box) {
    if (!TERMINAL.has(step.status)) { box.replaceChildren(h("p", { class: "muted" }, "Decided when the step starts.")); return; }
    try {
      const why = await api.get(`runs/${enc(step.id)}/reuse`, { signal: this.signal });
      const parts = [h("p", { id: "reuse-summary" }, why.reused ? "Reused from run " : "Ran. ",
        why.reused && why.reusedFrom ? h("a", { href: `#/run/${enc(why.reusedFrom)}`, id: "reused-from" }, why.reusedFrom) : null)];
      if (why.changes.length) {
        parts.push(h("p", {}, "Ran because these inputs differ from run ", why.comparedWith ? h("a", { href: `#/run/${enc(why.comparedWith)}` }, why.comparedWith) : "the earlier one", ":"));
        parts.push(table(["What", "Name", "Before", "Now"], why.changes.map((c) => h("tr", {}, h("td", {}, c.what), h("td", {}, c.name),
          h("td", { class: "mono" }, JSON.stringify(c.old)), h("td", { class: "mono" }, JSON.stringify(c.new))))));
      }
      parts.push(h("pre", { class: "reuse-message" }, why.message));
      box.replaceChildren(...parts);
    } catch (error) { box.textContent = error.message; }
  }

  async loadSnapshot(node, step, box) {
    const git = Object.entries({ ...(this.run.properties || {}), ...(step.properties || {}) }).filter(([k]) => k.startsWith("azureml.git."));
    const parts = [];
    parts.push(git.length ? table(["Git property", "Value"], git.map(([k, v]) => h("tr", {}, h("td", {}, k.replace("azureml.git.", "")), h("td", { class: "mono" }, v))))
      : h("p", { class: "muted" }, "No Git properties (the source was not in a Git repository)."));
    if (node.snapshot) {
      try {
        const manifest = await api.get(`snapshots/manifests/${enc(node.snapshot)}`, { signal: this.signal });
        const files = Object.keys(manifest.files || manifest).sort();
        parts.push(h("details", { open: files.length <= 12 }, h("summary", {}, `Snapshot ${node.snapshot.slice(0, 12)}: ${files.length} files`),
          h("ul", { class: "mono files" }, files.map((f) => h("li", {}, f)))));
      } catch (error) { parts.push(h("p", {}, error.message)); }
    } else parts.push(h("p", { class: "muted" }, "No snapshot."));
    box.replaceChildren(...parts);
  }
}
