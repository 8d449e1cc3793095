// The console's only way to the platform: the public REST API under /v1, with the caller's tokens.
// Tokens live in localStorage so a rep without signal who reopens the tab still has his session
// (and his queue, see queue.js); the refresh token is rotated by every refresh.

import { localize, problemCode } from "./problems.js";

const SESSION_KEY = "salesgrid.session";

/** A problem+json answer (RFC 9457): status, detail, and `errors` naming fields, in the reader's
 * language (problems.js); the API's own words stay in `body`. `code` is the stable code of `type`. */
export class Problem extends Error {
  constructor(status, body) {
    const { detail, errors } = localize(status, body);
    super(detail);
    this.status = status;
    this.detail = detail;
    this.code = problemCode(body);
    this.errors = errors;
    this.body = body || {};
  }
}

/** The request never reached the platform (no network): the caller may queue it. */
export class Offline extends Error {}

let session = load();
let refreshing = null;
let refreshTimer = null;

function load() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

export function currentSession() {
  return session;
}

export function setSession(pair) {
  session = {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    password_change_required: Boolean(pair.password_change_required),
    expires_at: Date.now() + (Number(pair.expires_in) || 900) * 1000,
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  scheduleRefresh();
}

export function clearSession() {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  localStorage.removeItem("salesgrid.me");
  localStorage.removeItem("salesgrid.customers");
  clearTimeout(refreshTimer);
}

/** Refresh a little before the access token expires, so a screen never stalls on a 401. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5_000, session.expires_at - Date.now() - 60_000);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.min(wait, 2 ** 31 - 1));
}

/** Exchange the refresh token once, however many requests are waiting for it. */
export function refresh() {
  if (!session?.refresh_token) return Promise.reject(new Problem(401, { detail: "not logged in" }));
  refreshing ??= (async () => {
    try {
      const reply = await send("POST", "/v1/auth/refresh", { body: { refresh_token: session.refresh_token }, auth: false });
      setSession(reply);
      return reply;
    } catch (error) {
      if (error instanceof Problem) {
        clearSession();
        window.dispatchEvent(new CustomEvent("sg:expired"));
      }
      throw error;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method, path, { body, query, headers = {}, auth = true, raw = false } = {}) {
  const sent = { Accept: "application/json, application/problem+json", ...headers };
  if (auth && session?.access_token) sent.Authorization = `Bearer ${session.access_token}`;
  let payload;
  if (body instanceof FormData || body instanceof Blob) payload = body;
  else if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url(path, query), { method, headers: sent, body: payload, credentials: "omit" });
  } catch {
    throw new Offline("no network");
  }
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = { detail: response.statusText };
    }
    throw new Problem(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Call the API; a 401 refreshes the tokens once and retries. */
export async function api(method, path, options = {}) {
  try {
    return await send(method, path, options);
  } catch (error) {
    const retry = error instanceof Problem && error.status === 401 && options.auth !== false
      && session?.refresh_token && !path.startsWith("/v1/auth/");
    if (!retry) {
      // Tokens that still require the first password change: every screen would be refused.
      if (error instanceof Problem && error.code === "PASSWORD_CHANGE_REQUIRED") window.dispatchEvent(new CustomEvent("sg:password"));
      if (error instanceof Problem && error.status === 401 && options.auth !== false && !path.startsWith("/v1/auth/")) {
        clearSession();
        window.dispatchEvent(new CustomEvent("sg:expired"));
      }
      throw error;
    }
    await refresh();
    return send(method, path, options);
  }
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body, headers) => api("POST", path, { body: body ?? {}, headers });

export async function login(loginName, password) {
  const pair = await send("POST", "/v1/auth/login", { body: { login: loginName, password }, auth: false });
  setSession(pair);
  return pair;
}

export async function logout() {
  const token = session?.refresh_token;
  clearSession();
  if (token) await send("POST", "/v1/auth/logout", { body: { refresh_token: token }, auth: false }).catch(() => {});
}

/** Change the (first) password, then fetch tokens that no longer carry the change requirement. */
export async function changePassword(current, next) {
  await api("POST", "/v1/auth/password", { body: { current_password: current, new_password: next } });
  await refresh();
}

if (session) scheduleRefresh();
