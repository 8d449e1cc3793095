// DOM helpers: element building without innerHTML (nothing from the API is ever parsed as HTML),
// forms whose problem+json errors land next to the field they name, and a status line.
import { Offline, Problem } from "./api.js";
import { t } from "./i18n.js";

/** h("button", {class: "x", onclick}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldCounter = 0;

/** A labelled input with a slot for its error. `control` defaults to an <input>. */
export function field(name, label, attrs = {}, control = null) {
  const id = `f${++fieldCounter}-${name.replace(/[^\w-]/g, "_")}`;
  const input = control || h("input", { name, ...attrs });
  input.id = id;
  input.name = input.name || name;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", dataset: { for: name } });
  input.setAttribute("aria-describedby", error.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, error);
}

export function select(name, options, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([value, label]) => h("option", { value }, label)));
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
}

/** Show a problem: each named field's message beside it, the detail at the top of the form. */
export function showProblem(form, error) {
  clearErrors(form);
  const general = form.querySelector(".form-error") || form.prepend(h("p", { class: "form-error", role: "alert" })) || form.querySelector(".form-error");
  if (error instanceof Offline) {
    general.textContent = t("No network. Try again when you are back online.");
    return;
  }
  if (!(error instanceof Problem)) {
    general.textContent = String(error?.message || error);
    return;
  }
  let placed = false;
  for (const { field: name, message } of error.errors) {
    // "facts.budget", "ip_allowlist[1]" or "address.text": the field itself, else its last part,
    // else the list or object it is in (nearest first).
    const parts = String(name).split(".");
    const candidates = [String(name), parts.at(-1), String(name).replace(/\[\d+\]$/, ""),
      ...parts.slice(0, -1).map((_, i) => parts.slice(0, parts.length - 1 - i).join(".").replace(/\[\d+\]$/, ""))];
    const slot = candidates.map((n) => form.querySelector(`.field-error[data-for="${CSS.escape(n)}"]`)).find(Boolean);
    if (slot) {
      slot.textContent = message || error.detail;
      slot.previousElementSibling?.setAttribute("aria-invalid", "true");
      placed = true;
    }
  }
  general.textContent = error.detail;
  if (placed) form.querySelector("[aria-invalid]")?.focus();
}

/** The form's named values (empty strings dropped). */
export function values(form) {
  const out = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() !== "") out[name] = value.trim();
  }
  return out;
}

/** Submit handler: disables the form while `work` runs, shows problems beside fields. */
export function onSubmit(form, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    clearErrors(form);
    try {
      await work(values(form), form);
    } catch (error) {
      showProblem(form, error);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  return form;
}

export function form(attrs, ...children) {
  return h("form", { novalidate: true, ...attrs }, h("p", { class: "form-error", role: "alert" }), ...children);
}

/** A short message in the status bar (aria-live), gone after a few seconds. */
export function toast(message, kind = "info") {
  const bar = document.getElementById("toast");
  if (!bar) return;
  bar.className = `toast ${kind}`;
  bar.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (bar.textContent = ""), 6000);
}

/** A section's error in place of its content (a screen never goes blank). */
export function failure(error) {
  const detail = error instanceof Offline ? t("No network. Try again when you are back online.") : error?.detail || String(error);
  return h("p", { class: "error", role: "alert" }, detail);
}

export function card(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/** "Load more" for a cursor-paged list: `load(cursor)` returns {items, next_cursor}. */
export function pagedList(load, renderItem, { emptyText = t("Nothing here yet.") } = {}) {
  const list = h("ul", { class: "list" });
  const more = h("button", { type: "button", class: "secondary more", hidden: true }, t("Load more"));
  const box = h("div", { class: "paged" }, list, more);
  let cursor = null;
  async function next() {
    more.disabled = true;
    try {
      const pageData = await load(cursor);
      for (const item of pageData.items || []) list.append(renderItem(item));
      cursor = pageData.next_cursor || null;
      more.hidden = !cursor;
      if (!list.children.length) list.replaceWith(empty(emptyText));
    } catch (error) {
      box.append(failure(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", next);
  next();
  return box;
}
