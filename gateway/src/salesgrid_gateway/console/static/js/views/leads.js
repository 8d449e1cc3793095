// Lead assignment by a supervisor or manager: the leads waiting in the pool of his scope (cursor
// paged), each assigned to one of his reps (POST /v1/leads/{id}/assign), and a new lead created
// straight into a rep's hands (POST /v1/leads with assign_to); the leads' custom fields are filled
// on creation and shown (and edited with leads:update) on each waiting lead.
import { get, post } from "../api.js";
import { collect, controls, customFieldsCard, forForm } from "../custom_fields.js";
import { branchCurrency, money, t } from "../i18n.js";
import { card, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";

function repOptions(team) {
  return [["", t("Choose a rep")], ...team.map((u) => [u.id, u.display_name || u.login])];
}

function leadItem(lead, team, names, fields) {
  const status = h("span", { role: "status" });
  const assign = form({ class: "inline", "aria-label": t("Assign the lead {name}", { name: lead.company_name }) },
    field("rep_id", t("Rep"), {}, select("rep_id", repOptions(team))),
    h("button", { type: "submit", class: "small" }, t("Assign")));
  onSubmit(assign, async (data) => {
    if (!data.rep_id) {
      assign.querySelector('.field-error[data-for="rep_id"]').textContent = t("Choose a rep");
      return;
    }
    const done = await post(`/v1/leads/${encodeURIComponent(lead.id)}/assign`, { rep_id: data.rep_id });
    assign.replaceWith(status);
    status.textContent = t("Assigned to {name}.", { name: names.get(done.owner_id) || "" });
  });
  return h("li", { dataset: { id: lead.id } },
    h("strong", {}, lead.company_name), " ",
    h("span", { class: "muted" }, [lead.contact_name, lead.region, lead.industry].filter(Boolean).join(" · ")), " ",
    lead.estimated_amount?.amount ? money(lead.estimated_amount) : null, assign, fields(lead));
}

/** The pool of a supervisor's scope; `definitions`: the leads' custom fields. */
export function leadsCard(team, ctx, definitions = []) {
  const names = new Map(team.map((u) => [u.id, u.display_name || u.login]));
  const list = h("div", { "data-testid": "lead-pool" });
  const load = () => replace(list, pagedList((cursor) => get("/v1/leads", { status: "pool", cursor, limit: 20 }),
    (lead) => leadItem(lead, team, names, fields), { emptyText: t("No leads wait for a rep.") }));
  const fields = (lead) => (definitions.length || Object.keys(lead.custom_fields || {}).length
    ? customFieldsCard(definitions, lead, { path: ctx.can("leads:update") ? `/v1/leads/${encodeURIComponent(lead.id)}/custom-fields` : "",
      title: t("Custom fields of {entity}", { entity: lead.company_name }), testid: "lead-fields", onSaved: load }) : null);
  const fillable = forForm(definitions);
  const create = form({ "aria-label": t("New lead for a rep") },
    field("company_name", t("Company")),
    field("contact_name", t("Contact")),
    field("phone", t("Phone"), { type: "tel", autocomplete: "off" }),
    field("assign_to", t("Rep"), {}, select("assign_to", repOptions(team))),
    controls(fillable),
    h("button", { type: "submit" }, t("Create lead")));
  onSubmit(create, async (data, element) => {
    const body = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith("custom_fields.")));
    const custom = collect(create, fillable, { currency: branchCurrency() });
    if (Object.keys(custom).length) body.custom_fields = custom;
    await post("/v1/leads", body);
    toast(data.assign_to ? t("Lead assigned.") : t("Lead added to the pool."));
    element.reset();
    load();
  });
  load();
  return card(t("Leads to assign"), list, h("h3", {}, t("New lead for a rep")), create);
}
