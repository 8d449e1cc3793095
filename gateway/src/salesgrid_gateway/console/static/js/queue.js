// Field work without signal: check-ins, follow-ups and daily reports are written to a queue on the
// device when the network is down and sent, in order, when it is back. Each carries an
// Idempotency-Key made when it was queued, so a send that reached the server but whose answer was
// lost is not recorded twice when retried.
import { Offline, Problem, api } from "./api.js";

const QUEUE_KEY = "salesgrid.queue";
const listeners = new Set();
let flushing = null;

/** Whose work an entry is: only that user's session sends it (a shared device stays safe). */
function currentUser() {
  try {
    return JSON.parse(localStorage.getItem("salesgrid.me") || "null")?.id || "";
  } catch {
    return "";
  }
}

/** What waits on this device for the user logged in now. */
export function pending() {
  return stored().filter((item) => !item.user || item.user === currentUser());
}

function stored() {
  try {
    return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
  } catch {
    return [];
  }
}

function save(items) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
  const mine = pending();
  listeners.forEach((listener) => listener(mine));
}

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID()
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
}

/**
 * Send a field-work write now, or queue it when there is no network.
 * Returns {sent: reply} or {queued: entry}. A problem (4xx) is thrown: the user must fix the input.
 */
export async function sendOrQueue(method, path, body, label) {
  const entry = { key: newKey(), method, path, body, label, queued_at: new Date().toISOString(), user: currentUser() };
  if (navigator.onLine === false) return { queued: enqueue(entry) };
  try {
    return { sent: await api(method, path, { body, headers: { "Idempotency-Key": entry.key } }) };
  } catch (error) {
    if (error instanceof Offline) return { queued: enqueue(entry) };
    throw error;
  }
}

function enqueue(entry) {
  save([...stored(), entry]);
  return entry;
}

export function discard(key) {
  save(stored().filter((item) => item.key !== key));
}

/**
 * Send what is waiting, oldest first. Stops at the first network failure (still offline); an entry
 * the server refuses stays with its problem's detail for the user to see and discard.
 */
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    let sent = 0;
    for (const entry of pending()) {
      if (entry.error) continue;
      try {
        await api(entry.method, entry.path, { body: entry.body, headers: { "Idempotency-Key": entry.key } });
        save(stored().filter((item) => item.key !== entry.key));
        sent += 1;
      } catch (error) {
        if (error instanceof Offline) break;
        if (error instanceof Problem && (error.status >= 500 || error.status === 401)) break;
        const refused = error instanceof Problem ? error.detail : String(error);
        save(stored().map((item) => (item.key === entry.key ? { ...item, error: refused } : item)));
      }
    }
    return sent;
  })().finally(() => {
    flushing = null; // after the run, never inside it: an empty run ends before it was assigned
  });
  return flushing;
}

window.addEventListener("online", () => flush());
// A send that failed on a flaky network is retried while anything waits (whatever
// navigator.onLine says: it is only a hint, and a failed try costs one request).
setInterval(() => {
  if (pending().some((item) => !item.error)) flush();
}, 10_000);
