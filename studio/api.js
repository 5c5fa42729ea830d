// The studio's calls: the durableml HTTP API through /api/studio/api/ (the API's own answers), and the few
// studio-only reads under /api/studio/data/. The session is an HttpOnly cookie the browser sends by itself; the
// page never sees a key. Actions carry the x-durableml-studio header (other sites cannot send it).
const API = "/api/studio/api/";
const DATA = "/api/studio/data/";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(base, path, { method = "GET", body, signal, text = false } = {}) {
  const headers = { Accept: text ? "text/plain" : "application/json" };
  if (method !== "GET") headers["x-durableml-studio"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, {
    method, headers, signal, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let code = "HttpError", message = `${method} ${path}: HTTP ${response.status}`;
    try {
      const error = (await response.json()).error;
      code = error.code; message = error.message;
    } catch (e) { /* not a JSON error body */ }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("studio-signed-out", { detail: message }));
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204) return null;
  return text ? response.text() : response.json();
}

export const api = {
  get: (path, options) => call(API, path, options),
  text: (path, options) => call(API, path, { ...options, text: true }),
  post: (path, body, options) => call(API, path, { ...options, method: "POST", body: body ?? {} }),
  patch: (path, body, options) => call(API, path, { ...options, method: "PATCH", body }),
  data: (path, options) => call(DATA, path, options),
  dataPost: (path, body, options) => call(DATA, path, { ...options, method: "POST", body }),
  url: (path) => API + path,
};

export async function signIn(code) {
  const response = await fetch("/api/studio/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "x-durableml-studio": "1" },
    body: JSON.stringify({ code }),
  });
  if (!response.ok) {
    let message = `sign-in failed (HTTP ${response.status})`;
    try { message = (await response.json()).error.message; } catch (e) { /* keep the status */ }
    throw new ApiError(response.status, "SignInFailed", message);
  }
}

export async function whoAmI() {
  const response = await fetch("/api/studio/session", { credentials: "same-origin" });
  if (response.status === 401 || response.status === 403) {
    let error = {};
    try { error = (await response.json()).error || {}; } catch (e) { /* no JSON body */ }
    return { signedIn: false, message: error.message, signIn: error.details?.signIn };
  }
  if (!response.ok) throw new ApiError(response.status, "HttpError", `HTTP ${response.status}`);
  return response.json();
}

export async function signOut() {
  await fetch("/api/studio/session", { method: "DELETE", credentials: "same-origin", headers: { "x-durableml-studio": "1" } });
}
