// Administration, org tree: the units the caller sees with their zones, currencies and IP
// allow-lists; a unit's zone, currency and allow-list edited in place (If-Match on its version),
// and a new unit under any of them. Problems land next to the field the API names.
import { api, post } from "../api.js";
import { t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, replace, select, toast } from "../ui.js";

const KINDS = ["region", "branch", "team", "other"];
const addresses = (text) => String(text || "").split(/[\s,，;；]+/).map((s) => s.trim()).filter(Boolean);

function editForm(unit, reload) {
  const edit = form({ class: "inline", "aria-label": t("Edit {name}", { name: unit.name }) },
    field("time_zone", t("Time zone"), { value: unit.time_zone || "", placeholder: "Asia/Shanghai" }),
    field("currency", t("Currency"), { value: unit.currency || "", placeholder: "CNY", maxlength: "3" }),
    field("ip_allowlist", t("IP allow-list (CIDRs)"), { value: unit.ip_allowlist_inherited ? "" : (unit.ip_allowlist || []).join(", "),
      placeholder: "10.0.0.0/8, 192.168.1.0/24" }),
    h("button", { type: "submit", class: "small" }, t("Save")));
  onSubmit(edit, async (data) => {
    const body = { ip_allowlist: addresses(data.ip_allowlist) };
    if (data.time_zone) body.time_zone = data.time_zone;
    if (data.currency) body.currency = data.currency.toUpperCase();
    await api("PATCH", `/v1/org-units/${encodeURIComponent(unit.id)}`, { body, headers: { "If-Match": `"${unit.version}"` } });
    toast(t("{name} saved.", { name: unit.name }));
    await reload();
  });
  return h("details", {}, h("summary", {}, t("Edit")), edit);
}

function createForm(units, reload) {
  const create = form({ "aria-label": t("New org unit") },
    field("parent_id", t("Parent unit"), {}, select("parent_id", units.map((u) => [u.id, u.name]))),
    field("name", t("Name")),
    field("kind", t("Kind"), {}, select("kind", KINDS.map((k) => [k, t(`unit:${k}`)]))),
    field("time_zone", t("Time zone"), { placeholder: t("inherited from the parent") }),
    field("currency", t("Currency"), { placeholder: t("inherited from the parent"), maxlength: "3" }),
    field("ip_allowlist", t("IP allow-list (CIDRs)"), { placeholder: "10.0.0.0/8" }),
    h("button", { type: "submit" }, t("Create unit")));
  onSubmit(create, async (data) => {
    const made = await post("/v1/org-units", { ...data, currency: (data.currency || "").toUpperCase() || undefined,
      ip_allowlist: addresses(data.ip_allowlist) });
    toast(t("{name} saved.", { name: made.name }));
    await reload();
  });
  return create;
}

export function orgTab(body, ctx, units, roles, reload) {
  const children = new Map();
  for (const unit of units) {
    const list = children.get(unit.parent_id || "") || [];
    list.push(unit);
    children.set(unit.parent_id || "", list);
  }
  const branch = (parent) => {
    const list = children.get(parent) || [];
    if (!list.length) return null;
    return h("ul", { class: "tree" }, list.map((u) => h("li", { dataset: { unit: u.id } },
      h("strong", {}, u.name), " ", h("span", { class: "tag" }, u.kind ? t(`unit:${u.kind}`) : "–"), " ",
      h("span", { class: "muted" }, [u.code, u.time_zone, u.currency].filter(Boolean).join(" · ")),
      (u.ip_allowlist || []).length ? h("span", { class: "muted" }, ` · IP ${u.ip_allowlist.join(", ")}`) : null,
      ctx.can("org_units:update") ? editForm(u, reload) : null,
      branch(u.id))));
  };
  // The tops of what the caller sees: units whose parent is not among them (one list per parent).
  const tops = [...new Set(units.filter((u) => !units.some((p) => p.id === u.parent_id)).map((u) => u.parent_id || ""))];
  replace(body, h("div", { class: "grid wide-first" },
    card(t("Org tree"), tops.length ? h("div", { "data-testid": "org-tree" }, tops.map(branch)) : empty("–")),
    ctx.can("org_units:create") && units.length ? card(t("New org unit"), createForm(units, reload)) : null));
}
