// Two languages, chosen from the browser and switchable; numbers, money, dates and times are
// formatted per locale, in the zone and currency of the caller's branch (set from /v1/org-units).
import zh from "./zh-CN.js";

const LOCALE_KEY = "salesgrid.locale";
export const LOCALES = ["en", "zh-CN"];

let locale = pick();
const branch = { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, currency: "CNY" };

function pick() {
  const saved = localStorage.getItem(LOCALE_KEY);
  if (LOCALES.includes(saved)) return saved;
  return (navigator.languages || [navigator.language]).some((l) => /^zh\b/i.test(l || "")) ? "zh-CN" : "en";
}

export function currentLocale() {
  return locale;
}

export function setLocale(next) {
  locale = LOCALES.includes(next) ? next : "en";
  localStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
}

/** The text in the current language; English text is the key, `{name}` is replaced from `vars`. */
export function t(text, vars = {}) {
  let found = locale === "zh-CN" ? zh[text] : undefined;
  // Enumerated values ("kind:call", "report:on_time") read as their words in English.
  if (found === undefined) found = /^[a-z]+:[a-z_0-9]+$/.test(text) ? text.split(":")[1].replaceAll("_", " ") : text;
  return found.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Stage and fact names come as "English / 中文" from the stage model, built-in role names as
 * "Sales rep (销售业务员)": show the reader's half. */
export function bilingual(name) {
  const parts = String(name || "").split(" / ");
  if (parts.length === 2) return locale === "zh-CN" ? parts[1] : parts[0];
  const glossed = /^(.+?) \(([^()]*\p{Script=Han}[^()]*)\)$/u.exec(String(name || ""));
  if (glossed) return locale === "zh-CN" ? glossed[2] : glossed[1];
  return name;
}

export function setBranch(unit) {
  if (unit?.time_zone) branch.timeZone = unit.time_zone;
  if (unit?.currency) branch.currency = unit.currency;
}

export function branchZone() {
  return branch.timeZone;
}

export function branchCurrency() {
  return branch.currency;
}

/** Money per locale; whole units unless `digits` (expenses and receipts show their cents). */
export function money(amount, currency, digits = 0) {
  const value = Number(typeof amount === "object" && amount ? amount.amount : amount);
  const code = (typeof amount === "object" && amount ? amount.currency : currency) || branch.currency;
  if (!Number.isFinite(value)) return "–";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: code, maximumFractionDigits: digits }).format(value);
  } catch {
    return `${number(value)} ${code}`;
  }
}

/** Money in a few characters (charts): ¥1.2M, ¥120万. */
export function moneyShort(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return "–";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: currency || branch.currency, notation: "compact",
      maximumFractionDigits: 1 }).format(value);
  } catch {
    return money(value, currency);
  }
}

export function number(value, digits = 0) {
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) return "–";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(parsed);
}

export function percent(value) {
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) return "–";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(parsed);
}

/** A timestamp in the branch's zone. */
export function dateTime(iso) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(locale, { timeZone: branch.timeZone, dateStyle: "medium", timeStyle: "short" })
    .format(new Date(iso));
}

/** A calendar date (YYYY-MM-DD, no zone) as the locale writes it. */
export function day(value) {
  if (!value) return "–";
  const [y, m, d] = String(value).slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { timeZone: "UTC", dateStyle: "medium" }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** Today's date (YYYY-MM-DD) in the branch's zone. */
export function branchToday(now = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: branch.timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(now);
}

/** This month (YYYY-MM) in the branch's zone. */
export function branchMonth(now = new Date()) {
  return branchToday(now).slice(0, 7);
}

document.documentElement.lang = locale;
