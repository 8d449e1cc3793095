// Administration: users (create, deactivate, unlock, roles), API keys (the secret is shown once,
// revoke), the audit trail, and the org tree. Each tab shows only if /v1/me grants its permission.
import { api, get, post } from "../api.js";
import { bilingual, dateTime, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";
import { fieldsTab } from "./admin_fields.js";
import { orgTab } from "./admin_org.js";
import { rolesTab } from "./admin_roles.js";

const TABS = [
  { code: "users", label: "Users", permission: "users:create" },
  { code: "keys", label: "API keys", permission: "api_keys:read" },
  { code: "audit", label: "Audit trail", permission: "audit:read" },
  { code: "roles", label: "Roles and data scopes", permission: "roles:read" },
  { code: "org", label: "Org tree", permission: "org_units:update" },
  { code: "fields", label: "Custom fields", permission: "custom_fields:manage" },
];

export function visible(ctx) {
  return TABS.some((tab) => ctx.can(tab.permission));
}

export async function render(main, ctx, [tabCode]) {
  const tabs = TABS.filter((tab) => ctx.can(tab.permission));
  const tab = tabs.find((x) => x.code === tabCode) || tabs[0];
  const body = h("div", { class: "tab-body" });
  replace(main, h("h1", {}, t("Administration")),
    h("nav", { class: "tabs", "aria-label": t("Administration") }, tabs.map((x) =>
      h("a", { href: `#/admin/${x.code}`, "aria-current": x === tab ? "page" : false }, t(x.label)))),
    body);
  const [units, roles] = await Promise.all([
    get("/v1/org-units").then((r) => r.items || []).catch(() => []),
    ctx.can("roles:read") ? get("/v1/roles").then((r) => r.items || []).catch(() => []) : [],
  ]);
  const views = { users: usersTab, keys: keysTab, audit: auditTab, roles: rolesTab, org: orgTab, fields: fieldsTab };
  const reload = () => render(main, ctx, [tab.code]);
  await views[tab.code](body, ctx, units, roles, reload);
}

const unitOptions = (units) => units.map((u) => [u.id, u.name]);
const roleOptions = (roles) => roles.map((r) => [r.code, bilingual(r.name)]);

function usersTab(body, ctx, units, roles) {
  const list = h("div", {});
  const search = h("input", { type: "search", placeholder: t("Search by login or name"), "aria-label": t("Search by login or name") });
  const unitName = new Map(units.map((u) => [u.id, u.name]));
  const load = () => replace(list, pagedList((cursor) => get("/v1/users", { q: search.value.trim(), cursor, limit: 50 }), (u) => {
    const act = async (path, done) => {
      try {
        await post(path, {});
        toast(done);
        load();
      } catch (error) {
        toast(error.detail || String(error), "error");
      }
    };
    const roleSelect = select("roles", roleOptions(roles), { "aria-label": t("Role of {login}", { login: u.login }) });
    roleSelect.value = (u.roles || [])[0] || "";
    roleSelect.addEventListener("change", async () => {
      try {
        await api("PATCH", `/v1/users/${u.id}`, { body: { roles: [roleSelect.value] }, headers: { "If-Match": `"${u.version}"` } });
        toast(t("Roles saved."));
        load();
      } catch (error) {
        toast(error.detail || String(error), "error");
      }
    });
    return h("li", { dataset: { login: u.login } },
      h("strong", {}, u.display_name), " ", h("code", {}, u.login), " ",
      h("span", { class: "muted" }, unitName.get(u.unit_id) || ""), " ",
      u.active ? null : h("span", { class: "tag warn" }, t("inactive")),
      u.locked_until ? h("span", { class: "tag warn" }, t("locked")) : null,
      h("span", { class: "actions" },
        ctx.can("users:update") && u.active ? roleSelect : null,
        ctx.can("users:update") && u.locked_until ? h("button", { type: "button", class: "small", onclick: () => act(`/v1/users/${u.id}/unlock`, t("Unlocked.")) }, t("Unlock")) : null,
        ctx.can("users:delete") && u.active && u.id !== ctx.me.id
          ? h("button", { type: "button", class: "small danger", onclick: () => confirm(t("Deactivate {login}?", { login: u.login })) && act(`/v1/users/${u.id}/deactivate`, t("Deactivated.")) }, t("Deactivate")) : null));
  }));
  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
  const createForm = form({ "aria-label": t("New user") },
    field("login", t("Login"), { autocomplete: "off" }),
    field("display_name", t("Name")),
    field("email", t("E-mail"), { type: "email" }),
    field("unit_id", t("Org unit"), {}, select("unit_id", unitOptions(units))),
    field("roles", t("Role"), {}, select("roles", roleOptions(roles))),
    field("initial_password", t("Initial password"), { type: "password", autocomplete: "new-password" }),
    h("p", { class: "muted" }, t("The user must choose his own password at first login.")),
    h("button", { type: "submit" }, t("Create user")));
  onSubmit(createForm, async (data) => {
    const user = await post("/v1/users", { ...data, roles: data.roles ? [data.roles] : [], password_change_required: true });
    toast(t("User {login} created.", { login: user.login }));
    createForm.reset();
    load();
  });
  replace(body, h("div", { class: "grid wide-first" }, card(t("Users"), search, list),
    ctx.can("users:create") ? card(t("New user"), createForm) : null));
  load();
}

async function keysTab(body, ctx, units, roles) {
  const keys = await get("/v1/api-keys");
  const secretBox = h("div", { role: "status", "data-testid": "api-key-secret" });
  const createForm = form({ "aria-label": t("New API key") },
    field("name", t("Name")),
    field("unit_id", t("Org unit"), {}, select("unit_id", unitOptions(units))),
    field("permissions", t("Permissions like role"), {}, select("template", roleOptions(roles))),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "read_only", value: "yes", checked: true }), " ", t("Read only")),
    field("ttl_days", t("Valid for (days)"), { type: "number", min: "1", value: "365" }),
    h("button", { type: "submit" }, t("Create key")));
  onSubmit(createForm, async (data) => {
    const role = roles.find((r) => r.code === data.template);
    const permissions = (role?.permissions || []).filter((p) => !data.read_only || p.name.endsWith(":read"));
    const created = await post("/v1/api-keys", { name: data.name || "", unit_id: data.unit_id || "", permissions,
      ttl_days: Number(data.ttl_days || 0) || undefined });
    replace(secretBox, h("div", { class: "secret" },
      h("p", {}, h("strong", {}, t("Copy the secret now: it will not be shown again."))),
      h("code", { class: "secret-value" }, created.secret || "")));
    keysTab(body, ctx, units, roles).then(() => body.querySelector("[data-testid=api-key-secret]").replaceWith(secretBox));
  });
  const items = keys.items || [];
  replace(body, h("div", { class: "grid wide-first" },
    card(t("API keys"), items.length ? h("ul", { class: "list", "data-testid": "api-keys" }, items.map((k) => h("li", { dataset: { name: k.name } },
      h("strong", {}, k.name), " ", h("code", {}, k.prefix || k.id.slice(0, 8)), " ",
      h("span", { class: "muted" }, k.expires_at ? t("expires {when}", { when: dateTime(k.expires_at) }) : ""), " ",
      k.revoked || k.revoked_at ? h("span", { class: "tag warn" }, t("revoked"))
        : ctx.can("api_keys:delete") ? h("button", { type: "button", class: "small danger", onclick: async () => {
          if (!confirm(t("Revoke {name}?", { name: k.name }))) return;
          await post(`/v1/api-keys/${k.id}/revoke`, {}).catch((e) => toast(e.detail, "error"));
          keysTab(body, ctx, units, roles);
        } }, t("Revoke")) : null))) : empty(t("No API keys yet."))),
    ctx.can("api_keys:create") ? card(t("New API key"), secretBox, createForm) : null));
}

function auditTab(body) {
  const results = h("div", { "data-testid": "audit" });
  const filters = form({ class: "inline", "aria-label": t("Search the audit trail") },
    field("action", t("Action"), { placeholder: "auth.login" }),
    field("actor_id", t("Actor id")),
    field("since", t("Since"), { type: "date" }),
    field("until", t("Until"), { type: "date" }),
    h("button", { type: "submit" }, t("Search")));
  const run = (query) => replace(results, pagedList((cursor) => get("/v1/audit-events", { ...query, cursor, limit: 50 }), (e) =>
    h("li", {}, h("code", {}, e.action), " ", h("span", { class: e.outcome === "success" ? "tag ok" : "tag warn" }, e.outcome), " ",
      h("span", { class: "muted" }, `${dateTime(e.occurred_at)} · ${e.actor_id} · ${e.actor_ip || ""} · ${e.target_type} ${e.target_id}`),
      e.detail ? h("p", { class: "muted" }, e.detail) : null), { emptyText: t("No audit events match.") }));
  onSubmit(filters, async (data) => {
    const query = { ...data };
    if (query.since) query.since = new Date(`${query.since}T00:00:00`).toISOString();
    if (query.until) query.until = new Date(`${query.until}T23:59:59`).toISOString();
    run(query);
  });
  replace(body, card(t("Audit trail"), filters, results));
  run({});
}
