// Pipelines & endpoints: published pipelines (parameters with types and defaults, the REST URL with a copyable
// curl example and the JSON Schema of its body), pipeline endpoints with versions and default version, drafts;
// enable/disable.
import { api } from "../api.js";
import { badge, copyButton, errorBox, h, table, toast, when } from "../ui.js";

const enc = encodeURIComponent;

function statusText(status) {
  return h("span", { class: `badge st-${status === "Active" ? "finished" : "canceled"}` },
    h("span", { class: "icon", "aria-hidden": "true" }, status === "Active" ? "●" : "◌"), " ", status.toLowerCase());
}

function toggle(kind, record, reload) {
  const active = record.status === "Active";
  return h("button", {
    type: "button", class: "small", "data-toggle": record.id,
    onclick: async () => {
      try {
        await api.patch(`${kind}/${enc(record.id)}`, { status: active ? "Disabled" : "Active" });
        toast(`${record.name || record.id} ${active ? "disabled" : "enabled"}`);
        reload();
      } catch (error) { toast(error.message, true); }
    },
  }, active ? "Disable" : "Enable");
}

function example(record) {
  const body = { ExperimentName: "my-experiment", ParameterAssignments: Object.fromEntries(Object.entries(record.parameters).map(([k, p]) => [k, p.default])) };
  return `curl -X POST '${record.endpoint}' \\\n  -H 'Content-Type: application/json' \\\n  -H "x-functions-key: $DURABLEML_KEY" \\\n  -d '${JSON.stringify(body)}'`;
}

function published(record, reload, signal) {
  const params = Object.entries(record.parameters).map(([name, p]) =>
    h("tr", {}, h("td", {}, name), h("td", {}, p.type), h("td", { class: "mono" }, JSON.stringify(p.default))));
  const curl = example(record);
  const schemaBox = h("div", {});
  const schemaButton = h("button", {
    type: "button", class: "small",
    onclick: async () => {
      try {
        const schema = await api.data(`published/${enc(record.id)}/schema`, { signal });
        schemaBox.replaceChildren(h("pre", { class: "code" }, JSON.stringify(schema, null, 2)), copyButton(JSON.stringify(schema, null, 2), "Copy schema"));
      } catch (error) { schemaBox.replaceChildren(errorBox(error)); }
    },
  }, "Show the body's JSON Schema");
  return h("article", { class: "card", "data-pipeline-id": record.id },
    h("header", { class: "card-head" }, h("h3", {}, record.name || record.id), statusText(record.status), toggle("published-pipelines", record, reload)),
    h("p", { class: "muted small" }, `id ${record.id} · version ${record.version ?? "—"} · published ${when(record.created)}`),
    record.description ? h("p", {}, record.description) : null,
    params.length ? table(["Parameter", "Type", "Default"], params) : h("p", { class: "muted" }, "No parameters."),
    h("p", {}, "REST URL: ", h("code", { class: "break" }, record.endpoint), " ", copyButton(record.endpoint, "Copy URL")),
    h("pre", { class: "code" }, curl), copyButton(curl, "Copy curl"), " ", schemaButton, schemaBox);
}

function endpoint(record, reload) {
  const rows = record.versions.map((v) => h("tr", {}, h("td", {}, v.version, v.version === record.defaultVersion ? " (default)" : ""), h("td", { class: "mono" }, v.pipelineId)));
  return h("article", { class: "card", "data-endpoint-id": record.id },
    h("header", { class: "card-head" }, h("h3", {}, record.name), statusText(record.status), toggle("pipeline-endpoints", record, reload)),
    h("p", { class: "muted small" }, `id ${record.id} · default version ${record.defaultVersion} · created ${when(record.created)}`),
    table(["Version", "Published pipeline"], rows),
    h("p", {}, "REST URL: ", h("code", { class: "break" }, record.endpoint), " ", copyButton(record.endpoint, "Copy URL")));
}

export async function pipelinesPage(main, signal) {
  const box = h("div", {});
  main.append(h("h1", {}, "Pipelines & endpoints"), box);
  const reload = async () => {
    try {
      const [pipelines, endpoints, drafts] = await Promise.all([
        api.get("published-pipelines?activeOnly=false", { signal }), api.get("pipeline-endpoints?activeOnly=false", { signal }),
        api.get("pipeline-drafts", { signal }),
      ]);
      box.replaceChildren(...[
        h("h2", {}, `Published pipelines (${pipelines.length})`),
        pipelines.length ? pipelines.map((p) => published(p, reload, signal)) : h("p", { class: "empty" }, "None published yet (PipelineRun.publish_pipeline or Pipeline.publish)."),
        h("h2", {}, `Pipeline endpoints (${endpoints.length})`),
        endpoints.length ? endpoints.map((e) => endpoint(e, reload)) : h("p", { class: "empty" }, "No pipeline endpoints."),
        h("h2", {}, `Drafts (${drafts.length})`),
        drafts.length ? table(["Name", "Id", "Created", "Tags"], drafts.map((d) => h("tr", {}, h("td", {}, d.name || "—"), h("td", { class: "mono" }, d.id), h("td", {}, when(d.created)), h("td", {}, JSON.stringify(d.tags)))))
          : h("p", { class: "empty" }, "No drafts.")].flat());
    } catch (error) { if (!signal.aborted) box.replaceChildren(errorBox(error)); }
  };
  await reload();
}
export { badge };
