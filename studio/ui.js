// Small DOM helpers and the status vocabulary (icon + text + colour: colour is never the only signal).
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "text") element.textContent = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const STATUS = {
  NotStarted: { icon: "○", text: "not started", css: "notstarted" },
  Queued: { icon: "◷", text: "queued", css: "queued" },
  Running: { icon: "▶", text: "running", css: "running" },
  Finished: { icon: "✔", text: "finished", css: "finished" },
  Reused: { icon: "♻", text: "reused", css: "reused" },
  Failed: { icon: "✖", text: "failed", css: "failed" },
  Canceled: { icon: "⊘", text: "canceled", css: "canceled" },
};
export const TERMINAL = new Set(["Finished", "Failed", "Canceled"]);

export function stepStatus(step) {
  if (!step) return "NotStarted";
  if (step.status === "Finished" && step.reusedFrom) return "Reused";
  return STATUS[step.status] ? step.status : "NotStarted";
}

export function badge(status) {
  const s = STATUS[status] || { icon: "?", text: status, css: "unknown" };
  return h("span", { class: `badge st-${s.css}`, "data-status": status },
    h("span", { class: "icon", "aria-hidden": "true" }, s.icon), " ", s.text);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleString();
}

export function duration(start, end) {
  if (!start) return "—";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  if (!(ms >= 0)) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function toast(message, error = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = "toast show" + (error ? " error" : "");
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.className = "toast"; }, 6000);
}

export function errorBox(error) {
  return h("div", { class: "error-box", role: "alert" }, h("strong", {}, "Error: "), error.message || String(error));
}

export function table(headers, rows, caption) {
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export function copyButton(text, label = "Copy") {
  return h("button", {
    type: "button", class: "small",
    onclick: async () => {
      try { await navigator.clipboard.writeText(text); toast("Copied"); } catch (e) { toast("Copy failed: select the text instead", true); }
    },
  }, label);
}
