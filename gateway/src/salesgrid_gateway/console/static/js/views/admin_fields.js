// Administration › Custom fields (custom_fields:manage): an entity's typed fields (text, number,
// money, date, choice, multi-choice, user, boolean; required or not; options; business lines) with
// how many records hold a value; define one, archive one (its values are kept) or restore it.
import { get, post } from "../api.js";
import { number, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, select, toast } from "../ui.js";

export const ENTITIES = ["customers", "contacts", "leads", "opportunities", "contracts"];
export const TYPES = ["text", "number", "money", "date", "choice", "multi_choice", "user", "boolean"];
const entityLabel = (e) => ({ customers: t("Customers"), contacts: t("Contacts"), leads: t("Leads"),
  opportunities: t("Opportunities"), contracts: t("Contracts") })[e] || e;
const typeLabel = (type) => ({ text: t("Text"), number: t("Number"), money: t("Money"), date: t("Date"), choice: t("Choice"),
  multi_choice: t("Multiple choice"), user: t("User"), boolean: t("Yes / no") })[type] || type;

/** "a, b ,c" or one per line → ["a", "b", "c"] */
export const splitList = (text) => String(text || "").split(/[,，\n]/).map((s) => s.trim()).filter(Boolean);

export async function fieldsTab(body, ctx, _units, _roles, reload) {
  const entity = new URLSearchParams(location.hash.split("?")[1] || "").get("entity") || "customers";
  const listed = await get(`/v1/custom-fields/${entity}`, { include_archived: "true" });
  const picker = select("entity", ENTITIES.map((e) => [e, entityLabel(e)]), { "aria-label": t("Record type") });
  picker.value = entity;
  picker.addEventListener("change", () => (location.hash = `#/admin/fields?entity=${picker.value}`));
  const definitions = listed.items || [];
  const define = form({ "aria-label": t("New custom field") },
    field("label", t("Label"), { required: true }),
    field("key", t("Key (letters, digits, _)"), { required: true, pattern: "[a-z][a-z0-9_]*", autocomplete: "off" }),
    field("type", t("Type"), {}, select("type", TYPES.map((x) => [x, typeLabel(x)]))),
    field("options", t("Options (comma-separated, for choices)")),
    field("business_lines", t("Business lines (stage model codes, optional)")),
    field("required", t("Required"), { type: "checkbox", value: "true" }),
    h("button", { type: "submit" }, t("Define field")));
  onSubmit(define, async (data) => {
    const payload = { key: data.key || "", label: data.label || "", type: data.type || "text", required: data.required === "true" };
    if (data.options) payload.options = splitList(data.options);
    if (data.business_lines) payload.business_lines = splitList(data.business_lines);
    await post(`/v1/custom-fields/${entity}`, payload);
    toast(t("Field defined."));
    await reload();
  });
  body.replaceChildren(h("div", { class: "toolbar" }, picker),
    h("div", { class: "grid wide-first" },
      card(t("Custom fields of {entity}", { entity: entityLabel(entity) }), definitions.length
        ? h("ul", { class: "list", "data-testid": "custom-field-definitions" }, definitions.map((d) => h("li", { dataset: { key: d.key } },
          h("strong", {}, d.label), " ", h("code", {}, d.key), " ", h("span", { class: "tag" }, typeLabel(d.type)),
          d.required ? h("span", { class: "tag warn" }, t("required")) : null,
          d.active === false ? h("span", { class: "tag" }, t("archived")) : null, " ",
          h("span", { class: "muted" }, [(d.options || []).join(" / "),
            t("{n} records hold a value", { n: number(d.values_stored || 0) })].filter(Boolean).join(" · ")), " ",
          h("button", { type: "button", class: "small secondary", onclick: async () => {
            try {
              await post(`/v1/custom-fields/${entity}/${encodeURIComponent(d.key)}/${d.active === false ? "restore" : "archive"}`, {});
              await reload();
            } catch (error) {
              toast(error.detail || String(error), "error");
            }
          } }, d.active === false ? t("Restore") : t("Archive")))))
        : empty(t("No custom fields yet."))),
      card(t("New custom field"), define)));
}
