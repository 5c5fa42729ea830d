// Schedules: time and data-change schedules, status, next run time in this browser's time zone, last runs, last
// error, poisoned firings; enable/disable.
import { api } from "../api.js";
import { badge, errorBox, h, table, toast, when } from "../ui.js";

const enc = encodeURIComponent;
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

function local(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
}

function what(s) {
  if (s.recurrence) {
    const r = s.recurrence;
    const at = r.hours?.length ? ` at ${r.hours.join(",")}:${String((r.minutes || [0])[0]).padStart(2, "0")}` : "";
    return `every ${r.interval} ${r.frequency.toLowerCase()}${r.interval > 1 ? "s" : ""}${at}${r.timeZone ? ` (${r.timeZone})` : ""}`;
  }
  return `on data changes in ${s.datastore}/${s.pathOnDatastore || ""} (polled every ${s.pollingInterval} min)`;
}

async function card(s, reload, signal) {
  const runs = await api.get(`schedules/${enc(s.id)}/runs`, { signal }).catch(() => []);
  const active = s.status === "Active";
  const button = h("button", {
    type: "button", class: "small", "data-toggle": s.id,
    onclick: async () => {
      try {
        await api.patch(`schedules/${enc(s.id)}`, { status: active ? "Disabled" : "Active" });
        toast(`Schedule ${s.name} ${active ? "disabled" : "enabled"}`);
        reload();
      } catch (error) { toast(error.message, true); }
    },
  }, active ? "Disable" : "Enable");
  const lastRuns = runs.slice(0, 5).map((r) => h("li", {}, badge(r.status), " ", h("a", { href: `#/run/${enc(r.id)}` }, r.id), ` · ${when(r.createdUtc)}`));
  return h("article", { class: "card", "data-schedule-id": s.id },
    h("header", { class: "card-head" }, h("h3", {}, s.name),
      h("span", { class: `badge st-${active ? "finished" : "canceled"}`, "data-status": s.status }, h("span", { class: "icon", "aria-hidden": "true" }, active ? "●" : "◌"), " ", s.status.toLowerCase()),
      button),
    h("dl", { class: "facts" },
      h("dt", {}, "Runs"), h("dd", {}, what(s)),
      h("dt", {}, "Experiment"), h("dd", {}, s.experimentName),
      h("dt", {}, "Next run"), h("dd", { class: "next-run" }, active && s.recurrence ? local(s.nextRunTime) : active ? "when data changes" : "— (disabled)"),
      h("dt", {}, "Last run"), h("dd", {}, local(s.lastRunTime)),
      h("dt", {}, "Last error"), h("dd", { class: s.lastError ? "error-text" : "" }, s.lastError || "none")),
    h("h4", {}, "Last runs"), lastRuns.length ? h("ul", { class: "plain" }, lastRuns) : h("p", { class: "muted" }, "No runs yet."),
    s.poisoned?.length ? h("div", {}, h("h4", {}, `Poisoned firings (${s.poisoned.length})`),
      table(["Firing", "Error"], s.poisoned.map((p) => h("tr", {}, h("td", { class: "mono" }, p.key), h("td", { class: "error-text" }, p.error))))) : null);
}

export async function schedulesPage(main, signal) {
  const box = h("div", {});
  main.append(h("h1", {}, "Schedules"), h("p", { class: "muted small" }, `Times in your time zone (${ZONE}).`), box);
  const reload = async () => {
    try {
      const schedules = await api.get("schedules?activeOnly=false", { signal });
      const cards = await Promise.all(schedules.map((s) => card(s, reload, signal)));
      box.replaceChildren(...(cards.length ? cards : [h("p", { class: "empty" }, "No schedules (Schedule.create).")]));
    } catch (error) { if (!signal.aborted) box.replaceChildren(errorBox(error)); }
  };
  await reload();
}
