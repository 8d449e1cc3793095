// The API's problem details (RFC 9457) in the reader's language. The public API speaks one
// language (English); the console translates what it shows from what is stable on the wire: the
// problem's specific `code` with its values in `info` (POOL_DAILY_CLAIMS: claims_today, cap) first,
// then its `type`, its `status`, the fields its `errors` name, its structured `info` (who owns an
// existing customer…) and the parameters of the services' message templates (caps, dates,
// versions, fact names) as the fallback. Anything it does not know stays in the API's words,
// after a lead-in in the reader's language saying what kind of refusal it is.
import { bilingual, currentLocale, dateTime, day, money, number } from "./i18n.js";
import * as zh from "./zh-CN-problems.js";

const CATALOGUES = { "zh-CN": zh };

/** "https://salesgrid.dev/problems/failed-precondition" -> "failed-precondition". */
export function problemType(body) {
  return String(body?.type || "").split("/problems/")[1] || "";
}

/** The problem's stable code, as the API's `type` spells it in upper case (PASSWORD_CHANGE_REQUIRED). */
export function problemCode(body) {
  return body?.code || problemType(body).toUpperCase().replaceAll("-", "_");
}

/** {detail, errors} of a problem body in the current language (the body itself untouched). */
export function localize(status, body, locale = currentLocale()) {
  const detail = body?.detail || body?.title || `HTTP ${status}`;
  const errors = (Array.isArray(body?.errors) ? body.errors : []).map((e) => ({ ...e }));
  const catalogue = CATALOGUES[locale];
  if (!catalogue) return { detail, errors };
  const say = speaker(catalogue, body?.info || {});
  const type = problemType(body);
  const fromCode = body?.code ? catalogue.byCode?.[body.code] : null;
  const coded = fromCode ? fromCode(body?.info || {}, say.helpers, errors) : null;
  for (const error of errors) {
    // The field named by a coded refusal carries the API's detail: the same words in Chinese.
    if (coded !== null && error.message === detail) {
      error.message = coded;
      continue;
    }
    // A known text says the most (its limits, names); a field check's code the kind of fault.
    const said = say(String(error.message || "")) ?? catalogue.byViolation?.[error.code] ?? null;
    if (said !== null) error.message = said;
  }
  const fromType = catalogue.byType[type] || catalogue.byStatus[status];
  const known = coded ?? say(detail) ?? composite(say, catalogue, detail) ?? (fromType ? fromType(body?.info || {}) : null);
  if (known !== null) return { detail: known, errors };
  const title = catalogue.titles[type] || catalogue.statusTitles[status] || catalogue.statusTitles[Math.floor(status / 100) * 100];
  return { detail: title ? catalogue.unknown(title, detail) : detail, errors };
}

/** One message of the API outside a problem (an import's refused row, with its facts as `info`)
 * in the current language; the API's words when the catalogue does not know it. */
export function translate(text, info = {}, locale = currentLocale()) {
  const catalogue = CATALOGUES[locale];
  if (!catalogue) return text;
  const say = speaker(catalogue, info);
  return say(String(text ?? "")) ?? composite(say, catalogue, String(text ?? "")) ?? text;
}

/** A translator of one message: the catalogue's first matching template, or null. */
function speaker(catalogue, info) {
  const helpers = {
    field: (name) => fieldLabel(catalogue, name),
    fields: (list) => String(list).split(/,\s*/).map((name) => fieldLabel(catalogue, name)).join("、"),
    name: (text) => bilingual(text),
    num: (value) => number(value, 2),
    money: (amount, currency) => money(amount, currency, 2),
    day: (value) => day(value),
    when: (iso) => (Number.isNaN(Date.parse(iso)) ? iso : dateTime(iso)),
    info,
  };
  const say = (text) => {
    const trimmed = String(text).trim();
    for (const [pattern, render] of catalogue.messages) {
      const match = pattern.exec(trimmed);
      if (match) return render(match.groups || {}, helpers);
    }
    return null;
  };
  helpers.say = (text) => say(text) ?? text;
  say.helpers = helpers;
  return say;
}

/** "legal_name: is required; phones[0]: '12' is not a phone number": each part, or null. */
function composite(say, catalogue, detail) {
  const parts = String(detail).split(/;\s+/);
  const said = parts.map((part) => {
    const at = part.indexOf(": ");
    if (at <= 0) return say(part);
    const name = part.slice(0, at);
    if (!/^[\w.[\]-]+$/.test(name)) return say(part);
    const message = say(part.slice(at + 2));
    return message === null ? null : catalogue.part(fieldLabel(catalogue, name), message);
  });
  return said.every((s) => s !== null) ? said.join(catalogue.separator) : null;
}

/** A field's name in the reader's words: "contacts[0].emails[1]" -> its last known part. */
function fieldLabel(catalogue, name) {
  const plain = String(name).replace(/\[\d+\]/g, "");
  const candidates = [plain, plain.split(".").pop(), plain.replace(/^facts\./, "")];
  for (const candidate of candidates) if (catalogue.fields[candidate]) return catalogue.fields[candidate];
  return String(name);
}
