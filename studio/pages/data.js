// Data & compute: datastores, datasets (versions, a preview of a tabular dataset's first rows), compute targets
// with nodes busy/idle and queued steps.
import { api } from "../api.js";
import { errorBox, h, table, when } from "../ui.js";

const enc = encodeURIComponent;

function preview(dataset, signal) {
  const box = h("div", {});
  const button = h("button", {
    type: "button", class: "small",
    onclick: async () => {
      try {
        const p = await api.data(`datasets/${enc(dataset.name)}/preview?version=${dataset.version}`, { signal });
        if (p.kind === "file") box.replaceChildren(h("ul", { class: "mono" }, p.files.map((f) => h("li", {}, f))));
        else box.replaceChildren(h("p", { class: "muted small" }, p.file || ""),
          table(p.columns, p.rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))), `First ${p.rows.length} rows`));
      } catch (error) { box.replaceChildren(errorBox(error)); }
    },
  }, "Preview");
  return [button, box];
}

export async function dataPage(main, signal) {
  const box = h("div", {});
  main.append(h("h1", {}, "Data & compute"), box);
  try {
    const [stores, datasets, computes] = await Promise.all([
      api.get("datastores", { signal }), api.get("datasets", { signal }), api.data("computes", { signal }),
    ]);
    box.replaceChildren(
      h("h2", {}, "Compute targets"),
      table(["Name", "Type", "Nodes", "Busy", "Idle", "Queued steps"], computes.map((c) => h("tr", { "data-compute": c.name },
        h("td", {}, c.name), h("td", {}, c.type), h("td", { class: "num" }, c.nodes),
        h("td", { class: "num" }, `${c.busy} busy`), h("td", { class: "num" }, `${c.idle} idle`), h("td", { class: "num" }, `${c.queued} queued`)))),
      h("h2", {}, "Datastores"),
      table(["Name", "Type", "Container / file system", "Account"], stores.map((s) => h("tr", {},
        h("td", {}, s.name), h("td", {}, s.type), h("td", { class: "mono" }, s.container || s.filesystem || s.shareName || "—"), h("td", {}, s.accountName || "—")))),
      h("h2", {}, "Datasets"),
      datasets.length ? table(["Name", "Version", "Type", "Created", "Preview"], datasets.map((d) => h("tr", { "data-dataset": d.name },
        h("td", {}, d.name), h("td", { class: "num" }, d.version), h("td", {}, d.definition?.datasetType || "—"), h("td", {}, when(d.created)), h("td", {}, preview(d, signal)))))
        : h("p", { class: "empty" }, "No registered datasets."));
  } catch (error) { if (!signal.aborted) box.replaceChildren(errorBox(error)); }
}
