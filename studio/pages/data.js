// Data & compute: datastores, datasets (versions, a preview of a tabular dataset's first rows), compute targets
// with nodes busy/idle and queued steps.
import { api } from "../api.js";
import { errorBox, h, table, when } from "../ui.js";

const enc = encodeURIComponent;

// One dataset: a version selector (every registered version, newest first) with the chosen version's id, time and
// description, and the preview of that version.
function datasetRow(dataset, signal) {
  const previewBox = h("div", { class: "dataset-preview" });
  const details = h("div", { class: "muted small dataset-version" });
  const choose = h("select", { name: "version", "aria-label": `Version of ${dataset.name}` },
    h("option", { value: String(dataset.version) }, `${dataset.version} (latest)`));
  let versions = [dataset];
  const chosen = () => versions.find((v) => String(v.version) === choose.value) || dataset;
  const describe = () => {
    const v = chosen();
    details.replaceChildren(h("div", { class: "mono" }, `id ${v.id}`), h("div", {}, `registered ${when(v.created)}`),
      h("div", {}, v.description || "no description"));
    previewBox.replaceChildren();
  };
  choose.addEventListener("change", describe);
  describe();
  api.data(`datasets/${enc(dataset.name)}/versions`, { signal }).then((all) => {
    versions = all;
    const keep = choose.value;
    choose.replaceChildren(...all.map((v, i) => h("option", { value: String(v.version) },
      i === 0 ? `${v.version} (latest)` : String(v.version))));
    choose.value = keep;
    choose.setAttribute("data-versions", String(all.length));
    describe();
  }).catch((error) => { if (!signal.aborted) details.replaceChildren(errorBox(error)); });
  const button = h("button", {
    type: "button", class: "small",
    onclick: async () => {
      const version = choose.value;
      try {
        const p = await api.data(`datasets/${enc(dataset.name)}/preview?version=${enc(version)}`, { signal });
        if (choose.value !== version) return; // another version was chosen meanwhile
        previewBox.setAttribute("data-version", version);
        if (p.kind === "file") previewBox.replaceChildren(h("ul", { class: "mono" }, p.files.map((f) => h("li", {}, f))));
        else previewBox.replaceChildren(h("p", { class: "muted small" }, `version ${version}: ${p.file || ""}`),
          table(p.columns, p.rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))), `First ${p.rows.length} rows`));
      } catch (error) { previewBox.replaceChildren(errorBox(error)); }
    },
  }, "Preview");
  return h("tr", { "data-dataset": dataset.name },
    h("td", {}, dataset.name), h("td", {}, choose, details), h("td", {}, dataset.definition?.datasetType || "—"),
    h("td", {}, button, previewBox));
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
      datasets.length ? table(["Name", "Version", "Type", "Preview"], datasets.map((d) => datasetRow(d, signal)))
        : h("p", { class: "empty" }, "No registered datasets."));
  } catch (error) { if (!signal.aborted) box.replaceChildren(errorBox(error)); }
}
