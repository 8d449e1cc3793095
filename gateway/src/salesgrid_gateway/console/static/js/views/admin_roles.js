// Administration, roles and data scopes: every role with its permissions and their scopes, and a
// new custom role built permission by permission (scope own, team, subtree or all; none leaves it out).
import { post } from "../api.js";
import { bilingual, t } from "../i18n.js";
import { card, field, form, h, onSubmit, replace, select, toast } from "../ui.js";

const SCOPES = ["own", "team", "subtree", "all"];

/** Every permission the platform knows: the administrator role holds each of them. */
export function catalogue(roles) {
  const names = new Set(roles.flatMap((r) => (r.permissions || []).map((p) => p.name)));
  return [...names].sort();
}

function createForm(roles, reload) {
  const grants = catalogue(roles).map((name) => field(`perm:${name}`, name, {},
    select(`perm:${name}`, [["", t("none")], ...SCOPES.map((s) => [s, t(`scope:${s}`)])])));
  const create = form({ "aria-label": t("New role") },
    field("code", t("Code"), { placeholder: "field_auditor", autocomplete: "off" }),
    field("name", t("Name")),
    h("fieldset", { class: "grants" }, h("legend", {}, t("Permissions and data scopes")), grants),
    h("p", { class: "field-error", role: "alert", dataset: { for: "permissions" } }),
    h("button", { type: "submit" }, t("Create role")));
  onSubmit(create, async (data) => {
    const permissions = Object.entries(data).filter(([key]) => key.startsWith("perm:"))
      .map(([key, scope]) => ({ name: key.slice(5), scope }));
    const made = await post("/v1/roles", { code: data.code || "", name: data.name || "", permissions });
    toast(t("Role {name} created.", { name: made.name }));
    await reload();
  });
  return create;
}

export function rolesTab(body, ctx, units, roles, reload) {
  replace(body, h("div", { class: "grid wide-first" },
    card(t("Roles and data scopes"), h("ul", { class: "list", "data-testid": "roles" }, roles.map((role) => h("li", { dataset: { role: role.code } },
      h("strong", {}, bilingual(role.name)), " ", h("code", {}, role.code), role.builtin ? h("span", { class: "tag" }, t("built-in")) : null,
      h("details", {}, h("summary", {}, t("{n} permissions", { n: (role.permissions || []).length })),
        h("p", { class: "muted" }, (role.permissions || []).map((p) => `${p.name} (${t(`scope:${p.scope}`)})`).join(", "))))))),
    ctx.can("roles:create") ? card(t("New role"), createForm(roles, reload)) : null));
}
