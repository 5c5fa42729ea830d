// The studio's entry: sign-in (a one-time code in the URL fragment, exchanged for an HttpOnly cookie), then a
// router over the URL fragment: #/runs, #/run/<id>[/<step id>], #/pipelines, #/schedules, #/data.
import { api, signIn, signOut, whoAmI } from "./api.js";
import { h, toast } from "./ui.js";
import { runsPage } from "./pages/runs.js";
import { runPage } from "./pages/run.js";
import { pipelinesPage } from "./pages/pipelines.js";
import { schedulesPage } from "./pages/schedules.js";
import { dataPage } from "./pages/data.js";

const main = document.getElementById("main");
let current = null; // the page's AbortController: navigation stops its polls

const PAGES = [
  [/^#\/run\/([^/]+)(?:\/([^/]+))?$/, (m, signal) => runPage(main, decodeURIComponent(m[1]), m[2] && decodeURIComponent(m[2]), signal), "runs"],
  [/^#\/pipelines$/, (m, signal) => pipelinesPage(main, signal), "pipelines"],
  [/^#\/schedules$/, (m, signal) => schedulesPage(main, signal), "schedules"],
  [/^#\/data$/, (m, signal) => dataPage(main, signal), "data"],
  [/^#\/runs(?:\?(.*))?$/, (m, signal) => runsPage(main, new URLSearchParams(m[1] || ""), signal), "runs"],
];

function route() {
  const hash = location.hash || "#/runs";
  if (current) current.abort();
  current = new AbortController();
  for (const [pattern, show, nav] of PAGES) {
    const m = hash.match(pattern);
    if (m) {
      for (const link of document.querySelectorAll("nav a")) {
        if (link.dataset.page === nav) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
      main.replaceChildren();
      show(m, current.signal).catch((error) => {
        if (error.name !== "AbortError") main.append(h("div", { class: "error-box", role: "alert" }, error.message));
      });
      return;
    }
  }
  location.replace("#/runs");
}

function signedOut(message, signInUrl) {
  if (current) current.abort();
  document.getElementById("who").replaceChildren();
  main.replaceChildren(
    h("section", { class: "signin" },
      h("h1", {}, "Not signed in"),
      h("p", {}, message || "The studio needs a signed-in session."),
      h("p", {}, "On this machine run ", h("code", {}, "durableml studio"),
        ": it opens this page signed in (it asks the service for a one-time login code with the function key, "
        + "which never reaches the browser). In Azure, App Service authentication signs you in with Entra ID."),
      signInUrl ? h("p", {}, h("a", { class: "button", href: signInUrl, id: "entra-sign-in" }, "Sign in with Entra ID")) : null));
}

async function start() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const code = fragment.get("login");
  if (code) {
    const next = fragment.get("next") || "";
    history.replaceState(null, "", location.pathname + "#/runs"); // the code leaves the address bar at once
    try { await signIn(code); } catch (error) { signedOut(error.message); return; }
    if (/^\/run\/[A-Za-z0-9_.-]+$/.test(next)) history.replaceState(null, "", location.pathname + "#" + next);
    if (next === "latest") {
      const [newest] = await api.data("runs?top=1");
      if (newest) history.replaceState(null, "", `${location.pathname}#/run/${encodeURIComponent(newest.id)}`);
    }
  }
  const me = await whoAmI();
  if (!me.signedIn) { signedOut(me.message, me.signIn); return; }
  document.getElementById("who").replaceChildren(
    h("span", {}, me.via === "entra" ? `signed in (Entra ID ${me.principal})` : "signed in"), " ",
    h("button", { type: "button", class: "small", onclick: async () => { await signOut(); signedOut("Signed out."); } }, "Sign out"));
  window.addEventListener("hashchange", route);
  window.addEventListener("studio-signed-out", (event) => signedOut(event.detail));
  route();
}

document.getElementById("skip").addEventListener("click", () => main.focus());
start().catch((error) => toast(error.message, true));
