// Custom fields (自定义字段) on the console's forms: the controls for the active definitions of an
// entity (GET /v1/custom-fields/{entity}), their values read and checked as the owning service
// will (required, numbers, money), and a card that shows and edits a record's values (PATCH with
// If-Match). Each control's error slot is named `custom_fields.<key>`, as the API names the field.
import { Problem, api } from "./api.js";
import { branchCurrency, day, money, t } from "./i18n.js";
import { card, field, form, h, onSubmit, replace, toast } from "./ui.js";

const DECIMAL = /^-?\d+(\.\d+)?$/;
const name = (key) => `custom_fields.${key}`;

/** The definitions a new record is asked for: active ones that are not limited to business lines. */
export const forForm = (definitions) => (definitions || []).filter((d) => d.active !== false);

/** Check and convert raw control values ({key: text | [options] | boolean}) into the API's form.
 * Empty values are left out (on an edit, `clear` sends them as null); returns {values, errors}. */
export function readValues(definitions, raw, { clear = false, currency = "CNY" } = {}) {
  const values = {};
  const errors = [];
  for (const d of definitions) {
    const value = raw[d.key];
    const blank = value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)
      || (d.type === "boolean" && value === false && !d.required);
    if (blank) {
      if (d.required && !(d.business_lines || []).length) errors.push({ field: name(d.key), message: t("is required") });
      else if (clear) values[d.key] = null;
      continue;
    }
    if (d.type === "number") {
      const text = String(value).trim();
      if (!DECIMAL.test(text)) errors.push({ field: name(d.key), message: t("must be a number") });
      else values[d.key] = text;
    } else if (d.type === "money") {
      const text = String(value).trim();
      if (!DECIMAL.test(text)) errors.push({ field: name(d.key), message: t("must be an amount such as 12.50") });
      else values[d.key] = { amount: text, currency };
    } else if (d.type === "multi_choice") values[d.key] = Array.isArray(value) ? value : [value];
    else if (d.type === "boolean") values[d.key] = Boolean(value);
    else values[d.key] = String(value).trim();
  }
  return { values, errors };
}

/** A value as the reader sees it. */
export function showValue(definition, value) {
  if (value === undefined || value === null || value === "") return "–";
  if (definition?.type === "money") return money(value);
  if (definition?.type === "date") return day(value);
  if (definition?.type === "boolean") return value ? t("Yes") : t("No");
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

/** One labelled control per definition, filled with `values`; `users` for user fields. */
export function controls(definitions, values = {}, users = []) {
  return definitions.map((d) => {
    const current = values[d.key];
    const label = d.required ? `${d.label} *` : d.label;
    const attrs = { dataset: { cf: d.key, type: d.type } };
    if (d.type === "choice" || (d.type === "user" && users.length)) {
      const options = d.type === "user" ? users.map((u) => [u.id, u.display_name || u.login]) : (d.options || []).map((o) => [o, o]);
      return field(name(d.key), label, {}, h("select", { name: name(d.key), ...attrs },
        h("option", { value: "" }, t("None")), options.map(([v, text]) => h("option", { value: v, selected: v === current }, text))));
    }
    if (d.type === "multi_choice") {
      return field(name(d.key), label, {}, h("select", { name: name(d.key), multiple: true, ...attrs },
        (d.options || []).map((o) => h("option", { value: o, selected: (current || []).includes(o) }, o))));
    }
    if (d.type === "boolean") return field(name(d.key), label, { type: "checkbox", checked: Boolean(current), ...attrs });
    if (d.type === "money") {
      return field(name(d.key), t("{label} ({currency})", { label, currency: current?.currency || branchCurrency() }),
        { inputmode: "decimal", value: current?.amount ?? "", ...attrs });
    }
    return field(name(d.key), label, { type: d.type === "date" ? "date" : "text", inputmode: d.type === "number" ? "decimal" : undefined,
      value: current ?? "", ...attrs });
  });
}

/** The raw values of a form's custom-field controls, by key. */
export function rawValues(formElement) {
  const raw = {};
  formElement.querySelectorAll("[data-cf]").forEach((control) => {
    const key = control.dataset.cf;
    if (control.type === "checkbox") raw[key] = control.checked;
    else if (control.multiple) raw[key] = [...control.selectedOptions].map((o) => o.value);
    else raw[key] = control.value;
  });
  return raw;
}

/** Read a form's custom fields, or throw the problem that puts each error beside its field. */
export function collect(formElement, definitions, options) {
  const { values, errors } = readValues(definitions, rawValues(formElement), options);
  if (errors.length) throw new Problem(400, { detail: t("Please correct the marked fields."), errors });
  return values;
}

/** A record's custom fields, shown; editable with `path` (PATCH, If-Match: its version). */
export function customFieldsCard(definitions, record, { path = "", users = [], onSaved = null } = {}) {
  const values = record.custom_fields || {};
  const known = new Map(definitions.map((d) => [d.key, d]));
  const shown = h("dl", { class: "facts", "data-testid": "custom-fields" },
    [...new Set([...definitions.map((d) => d.key), ...Object.keys(values)])].map((key) => [
      h("dt", {}, known.get(key)?.label || key), h("dd", {}, showValue(known.get(key), values[key]))]));
  const editable = definitions.filter((d) => d.active !== false);
  if (!path || !editable.length) return card(t("Custom fields"), shown);
  const box = h("div", {}, shown);
  const edit = h("button", { type: "button", class: "secondary", onclick: () => {
    const editor = form({ "aria-label": t("Edit custom fields") }, controls(editable, values, users),
      h("div", { class: "actions" }, h("button", { type: "submit" }, t("Save")),
        h("button", { type: "button", class: "secondary", onclick: () => replace(box, shown, edit) }, t("Cancel"))));
    onSubmit(editor, async () => {
      const body = { custom_fields: collect(editor, editable, { clear: true, currency: branchCurrency() }) };
      const saved = await api("PATCH", path, { body, headers: { "If-Match": `"${record.version}"` } });
      toast(t("Saved."));
      if (onSaved) await onSaved(saved);
    });
    replace(box, editor);
  } }, t("Edit"));
  box.append(edit);
  return card(t("Custom fields"), box);
}
