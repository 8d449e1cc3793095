// Customers: name search (Chinese or Latin) paged by the API's cursor, creation with live
// duplicate warnings naming the owner of the existing record, the public pool, and the 360 view.
import { api, get, post } from "../api.js";
import { branchCurrency, dateTime, day, money, t } from "../i18n.js";
import { collect, controls, customFieldsCard, forForm } from "../custom_fields.js";
import { contractDocuments } from "../documents.js";
import { translate } from "../problems.js";
import { card, empty, failure, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";
import { exportCard } from "./exports.js";
import * as poolView from "./pool.js";
import { askButton } from "./shares.js";

export async function render(main, ctx, [id]) {
  if (id === "pool") return poolView.render(main, ctx);
  const definitions = ctx.can("custom_fields:read")
    ? (await get("/v1/custom-fields/customers").catch(() => ({ items: [] }))).items || [] : [];
  if (id) return renderCustomer(main, ctx, id, definitions);
  const results = h("div", { "data-testid": "customer-results" });
  const search = h("input", { type: "search", name: "q", placeholder: t("Search by name"), "aria-label": t("Search by name") });
  // A custom field filter (cf_<key>=value, equality as the API compares)
  const filterField = h("select", { name: "cf", "aria-label": t("Filter by field") },
    h("option", { value: "" }, t("Filter by field")), definitions.map((d) => h("option", { value: d.key }, d.label)));
  const filterValue = h("input", { type: "search", name: "cf_value", "aria-label": t("Field value"), placeholder: t("Field value") });
  const filters = () => (filterField.value && filterValue.value.trim() ? { [`cf_${filterField.value}`]: filterValue.value.trim() } : {});
  const load = () => replace(results, pagedList(
    (cursor) => get("/v1/customers", { q: search.value.trim(), cursor, limit: 20, ...filters() }),
    (c) => h("li", {}, h("a", { href: `#/customers/${c.id}` }, c.legal_name), " ",
      h("span", { class: "tag" }, t(`tier:${c.tier}`)), " ", h("span", { class: "muted" }, c.industry || "")),
    { emptyText: t("No customer matches.") }));
  let timer;
  for (const control of [search, filterValue, filterField]) {
    control.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    });
  }
  replace(main, h("h1", {}, t("Customers")),
    h("div", { class: "toolbar" }, search, definitions.length ? [filterField, filterValue] : null,
      ctx.can("pool:read") ? h("a", { class: "button secondary", href: "#/customers/pool" }, t("Public pool")) : null),
    h("div", { class: "grid wide-first" }, card(t("Customers"), results),
      h("div", { class: "stack" }, ctx.can("customers:create") ? createCard(ctx, forForm(definitions)) : null,
        ctx.can("customers:import") ? importCard() : null,
        ctx.can("customers:export") ? exportCard("customers", t("Export customers")) : null)));
  load();
}

function createCard(ctx, definitions) {
  const warnings = h("div", { class: "warnings", role: "status", "aria-live": "polite", "data-testid": "duplicates" });
  const createForm = form({ "aria-label": t("New customer") },
    field("legal_name", t("Legal name"), { required: true, autocomplete: "organization" }), warnings,
    field("credit_code", t("Unified social credit code")),
    field("industry", t("Industry")),
    field("tier", t("Tier"), {}, select("tier", ["potential", "normal", "key"].map((v) => [v, t(`tier:${v}`)]))),
    field("address", t("Address")),
    controls(definitions),
    h("button", { type: "submit" }, t("Create customer")));
  const name = createForm.querySelector('[name="legal_name"]');
  let timer;
  name.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => checkDuplicates(name.value.trim(), warnings, ctx), 350);
  });
  onSubmit(createForm, async (data) => {
    const body = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith("custom_fields.")));
    if (data.address) body.address = { text: data.address };
    const custom = collect(createForm, definitions);
    if (Object.keys(custom).length) body.custom_fields = custom;
    const created = await post("/v1/customers", body);
    toast(t("Customer created."));
    if (created.duplicate_warnings?.length) toast(t("Created, but similar customers exist."), "warn");
    location.hash = `#/customers/${created.id}`;
  });
  return card(t("New customer"), createForm);
}

async function checkDuplicates(name, box, ctx) {
  if (name.length < 2) return replace(box);
  try {
    const found = await post("/v1/customers/duplicate-check", { legal_name: name });
    const lines = [
      ...(found.blocking || []).map((d) => [d, true]),
      ...(found.warnings || []).map((d) => [d, false]),
    ];
    // The service names each owner and his unit: no extra round trip per owner.
    const owner = (d) => (d.owner_name ? (d.owner_unit_name ? `${d.owner_name} (${d.owner_unit_name})` : d.owner_name)
      : t("a colleague outside your team"));
    replace(box, lines.map(([d, blocking]) => h("p", { class: blocking ? "error" : "warn" },
      blocking ? t("Already registered: {name}.", { name: d.legal_name }) : t("Similar: {name}.", { name: d.legal_name }), " ",
      !d.owner_id ? t("It is in the public pool.")
        : d.owner_id === ctx.me.id ? t("It is yours.")
          : [t("Owned by {owner}: ask them or your manager to share it with you.", { owner: owner(d) }), " ", askButton(d)])));
  } catch {
    replace(box);
  }
}

// The definitions of another entity's custom fields (contacts, contracts), none without the right.
const definitionsOf = (ctx, entity) => (ctx.can("custom_fields:read")
  ? get(`/v1/custom-fields/${entity}`).then((r) => r.items || []).catch(() => []) : []);

async function renderCustomer(main, ctx, id, definitions) {
  const [overview, opportunities, contracts, contactFields, contractFields] = await Promise.all([
    get(`/v1/customers/${encodeURIComponent(id)}/overview`),
    get("/v1/opportunities", { customer_id: id, limit: 50 }).catch((e) => ({ error: e })),
    ctx.can("contracts:read") ? get("/v1/contracts", { customer_id: id, limit: 50 }).catch((e) => ({ error: e })) : { items: [] },
    definitionsOf(ctx, "contacts"),
    ctx.can("contracts:read") ? definitionsOf(ctx, "contracts") : [],
  ]);
  const again = () => renderCustomer(main, ctx, id, definitions);
  // A record's custom fields beside it, when it has some or some are defined (editable with `path`).
  const fieldsOf = (defs, record, path, title, testid) => (defs.length || Object.keys(record.custom_fields || {}).length
    ? customFieldsCard(defs, record, { path, title, testid, onSaved: again }) : null);
  const c = overview.customer;
  const sums = (list) => (list || []).map((m) => money(m)).join(" + ") || money(0);
  replace(main,
    h("p", {}, h("a", { href: "#/customers" }, "← ", t("Customers"))),
    h("h1", {}, c.legal_name, " ", h("span", { class: "tag" }, t(`tier:${c.tier}`))),
    h("dl", { class: "facts" },
      h("dt", {}, t("Open opportunities")), h("dd", {}, String(overview.open_opportunities || 0)),
      h("dt", {}, t("Open pipeline")), h("dd", {}, sums(overview.open_pipeline)),
      h("dt", {}, t("Contracted")), h("dd", {}, sums(overview.contracted)),
      h("dt", {}, t("Collected")), h("dd", { "data-testid": "collected" }, sums(overview.collected)),
      h("dt", {}, t("Outstanding")), h("dd", { "data-testid": "outstanding" }, sums(overview.outstanding)),
      h("dt", {}, t("Follow-ups")), h("dd", {}, String(overview.follow_up_count || 0)),
      h("dt", {}, t("Address")), h("dd", {}, c.address?.text || "–")),
    h("div", { class: "grid" },
      definitions.length || Object.keys(c.custom_fields || {}).length ? customFieldsCard(definitions, c, {
        path: ctx.can("customers:update") ? `/v1/customers/${encodeURIComponent(c.id)}` : "",
        onSaved: again }) : null,
      card(t("Contacts"), (overview.contacts || []).length ? h("ul", { class: "list", "data-testid": "contacts" }, overview.contacts.map((p) =>
        h("li", {}, h("strong", {}, p.full_name), " ", h("span", { class: "muted" }, [p.title, ...(p.phones || []), p.email].filter(Boolean).join(" · ")),
          fieldsOf(contactFields, p, ctx.can("customers:update") ? `/v1/customers/${encodeURIComponent(c.id)}/contacts/${encodeURIComponent(p.id)}` : "",
            t("Custom fields of {entity}", { entity: p.full_name }), "contact-fields"))))
        : empty(t("No contacts yet.")),
        ctx.can("customers:update") ? contactForm(c, forForm(contactFields), again) : null),
      card(t("Opportunities"), opportunities.error ? failure(opportunities.error) : (opportunities.items || []).length
        ? h("ul", { class: "list" }, opportunities.items.map((o) => h("li", {},
          h("a", { href: `#/board/${o.id}` }, o.name), " ", h("span", { class: "tag" }, o.stage), " ", money(o.amount))))
        : empty(t("No opportunities yet."))),
      card(t("Contracts"), contracts.error ? failure(contracts.error) : (contracts.items || []).length
        ? h("ul", { class: "list" }, contracts.items.map((k) => h("li", {},
          h("strong", {}, k.number || k.id.slice(0, 8)), " ", h("span", { class: "tag" }, t(`contract:${k.status}`)), " ",
          money(k.total, k.currency), " ", contractDocuments(k, ctx),
          fieldsOf(contractFields, k, ctx.can("contracts:update") ? `/v1/contracts/${encodeURIComponent(k.id)}/custom-fields` : "",
            t("Custom fields of {entity}", { entity: k.number || k.id.slice(0, 8) }), "contract-fields"))))
        : empty(t("No contracts yet."))),
      card(t("Follow-ups"), pagedList((cursor) => get("/v1/follow-ups", { customer_id: id, cursor, limit: 10 }),
        (f) => h("li", {}, h("span", { class: "tag" }, t(`kind:${f.kind}`)), " ", h("span", { class: "muted" }, dateTime(f.occurred_at)),
          h("p", {}, f.notes), f.next_follow_up_on ? h("p", { class: "muted" }, t("Next: {date}", { date: day(f.next_follow_up_on) })) : null),
        { emptyText: t("No follow-ups yet.") }))),
    ctx.can("pool:release") && c.owner_id === ctx.me.id ? releaseForm(c) : null);
}

/** A new contact of the customer, with the contacts' custom fields. */
function contactForm(customer, definitions, onAdded) {
  const add = form({ "aria-label": t("New contact") },
    field("full_name", t("Full name"), { required: true, autocomplete: "off" }),
    field("title", t("Job title")),
    field("phone", t("Phone"), { type: "tel", autocomplete: "off" }),
    field("email", t("Email"), { type: "email", autocomplete: "off" }),
    controls(definitions),
    h("button", { type: "submit" }, t("Add contact")));
  onSubmit(add, async (data) => {
    const body = { full_name: data.full_name, title: data.title || "", email: data.email || "", phones: data.phone ? [data.phone] : [] };
    const custom = collect(add, definitions, { currency: branchCurrency() });
    if (Object.keys(custom).length) body.custom_fields = custom;
    await post(`/v1/customers/${encodeURIComponent(customer.id)}/contacts`, body);
    toast(t("Contact added."));
    await onAdded();
  });
  return h("details", {}, h("summary", {}, t("New contact")), add);
}

function releaseForm(customer) {
  const releaseBox = form({ class: "card", "aria-label": t("Release to the public pool") },
    h("h2", {}, t("Release to the public pool")),
    field("reason", t("Reason")), h("button", { type: "submit", class: "secondary" }, t("Release")));
  onSubmit(releaseBox, async (data) => {
    await post(`/v1/customers/${customer.id}/release`, { reason: data.reason || "" });
    toast(t("Released to the public pool."));
    location.hash = "#/customers";
  });
  return releaseBox;
}

/** A CSV or XLSX file sent as it is; the job's progress is polled and each refused row listed. */
function importCard() {
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": t("Import progress") });
  const status = h("p", { role: "status", "data-testid": "import-status" });
  const rows = h("ul", { class: "list" });
  const importForm = form({ "aria-label": t("Import customers") },
    field("file", t("CSV or Excel file"), { type: "file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }),
    h("p", { class: "muted" }, t("Columns: legal_name (required), credit_code, industry, address, latitude, longitude, tier, tags, source.")),
    h("button", { type: "submit" }, t("Import")), progress, status, rows);
  onSubmit(importForm, async () => {
    const file = importForm.querySelector('input[type="file"]').files[0];
    if (!file) {
      importForm.querySelector('.field-error[data-for="file"]').textContent = t("Choose a file");
      return;
    }
    const type = file.name.toLowerCase().endsWith(".xlsx")
      ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv";
    let job = await api("POST", "/v1/customers/imports", { body: file, headers: { "Content-Type": type } });
    replace(rows);
    progress.hidden = false;
    while (true) {
      progress.max = Math.max(1, job.total || 1);
      progress.value = job.processed || 0;
      status.textContent = t("{processed} of {total} rows: {created} created, {failed} refused", {
        processed: job.processed || 0, total: job.total || "?", created: job.created || 0, failed: job.failed || 0 });
      if (job.status === "done") break;
      await new Promise((resolve) => setTimeout(resolve, 700));
      job = await get(`/v1/customers/imports/${job.id}`, { limit: 100 });
    }
    replace(rows, (job.errors || []).map((e) => h("li", { class: "error" }, t("Row {row}", { row: e.row }), " ",
      e.column ? h("code", {}, e.column) : null, " ", translate(e.message, e))));
  });
  return card(t("Import customers"), importForm);
}
