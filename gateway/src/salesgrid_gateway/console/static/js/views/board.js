// Opportunities as a board by stage. Advancing opens a form for exactly the facts the next
// stage's gate requires (from the stage model); a refusal shows each missing fact beside its field.
import { get, post } from "../api.js";
import { bilingual, branchCurrency, day, money, t } from "../i18n.js";
import { customFieldsCard } from "../custom_fields.js";
import { newKey } from "../queue.js";
import { exportCard } from "./exports.js";
import { empty, failure, field, form, h, onSubmit, replace, toast } from "../ui.js";

export async function render(main, ctx, [openId]) {
  const [models, first] = await Promise.all([
    get("/v1/stage-models"),
    get("/v1/opportunities", { status: "open", limit: 200 }),
  ]);
  const model = (models.items || []).find((m) => m.code === "default") || (models.items || [])[0];
  const opportunities = [...(first.items || [])];
  // Scrolls sideways on a phone: focusable, so the keyboard can scroll it too.
  const board = h("div", { class: "board", "data-testid": "board", tabindex: "0", role: "region",
    "aria-label": t("Opportunities by stage") });
  const more = h("button", { type: "button", class: "secondary", hidden: !first.next_cursor }, t("Load more"));
  let cursor = first.next_cursor;
  more.addEventListener("click", async () => {
    const next = await get("/v1/opportunities", { status: "open", limit: 200, cursor });
    opportunities.push(...(next.items || []));
    cursor = next.next_cursor;
    more.hidden = !cursor;
    draw();
  });
  const dialog = h("dialog", { class: "gate", "aria-labelledby": "gate-title" });
  const draw = () => replace(board, columns(model, opportunities, (o) => openGate(dialog, model, o, ctx, main)));
  replace(main, h("h1", {}, t("Opportunities")), board, more, dialog,
    ctx.can("opportunities:export") ? h("div", { class: "grid" }, exportCard("opportunities", t("Export opportunities"))) : null);
  draw();
  const wanted = openId && (opportunities.find((o) => o.id === openId)
    || await get(`/v1/opportunities/${encodeURIComponent(openId)}`).catch(() => null));
  if (wanted && wanted.status === "open") openGate(dialog, model, wanted, ctx, main);
}

/** The stages an opportunity can be in: from the model's entry stage on, outcomes excluded. */
function openStages(model) {
  const stages = model?.stages || [];
  const entry = Math.max(0, stages.findIndex((s) => s.code === model?.entry_stage));
  return stages.slice(entry).filter((s) => !s.outcome);
}

function columns(model, opportunities, onAdvance) {
  return openStages(model).map((stage) => {
    const here = opportunities.filter((o) => o.stage === stage.code);
    const total = here.reduce((sum, o) => sum + Number(o.amount?.amount || 0), 0);
    return h("section", { class: "column", "aria-label": bilingual(stage.name), dataset: { stage: stage.code } },
      h("h2", {}, bilingual(stage.name), " ", h("span", { class: "count" }, String(here.length))),
      h("p", { class: "muted" }, here.length ? money(total, here[0].amount?.currency) : ""),
      here.length ? h("ul", {}, here.map((o) => h("li", { class: "deal", dataset: { id: o.id } },
        h("strong", {}, o.name), h("span", {}, money(o.amount)),
        h("span", { class: "muted" }, t("closes {date}", { date: day(o.expected_close_date) })),
        h("button", { type: "button", class: "small", onclick: () => onAdvance(o) }, t("Advance…")))))
        : empty("–"));
  });
}

/** The stage after the opportunity's (won after the last open stage). */
export function nextStage(model, current) {
  const stages = openStages(model);
  const at = stages.findIndex((s) => s.code === current);
  if (at >= 0 && at < stages.length - 1) return stages[at + 1];
  return (model?.stages || []).find((s) => s.outcome === "won") || null;
}

function factInput(fact, visits) {
  const name = `facts.${fact.code}`;
  const label = bilingual(fact.name);
  switch (fact.type) {
    case "amount":
      return field(name, `${label} (${branchCurrency()})`, { type: "number", min: "0", step: "0.01", inputmode: "decimal", dataset: { fact: fact.code, type: "amount" } });
    case "date":
      return field(name, label, { type: "date", dataset: { fact: fact.code, type: "date" } });
    case "organisations":
      return field(name, `${label} — ${t("names, separated by commas")}`, { dataset: { fact: fact.code, type: "organisations" } });
    case "document":
      return field(name, `${label} — ${t("file name")}`, { dataset: { fact: fact.code, type: "document" } });
    case "visits": {
      const usable = visits.filter((v) => !fact.visit_kinds?.length || fact.visit_kinds.includes(v.kind));
      const box = h("fieldset", { class: "visits", dataset: { fact: fact.code, type: "visits" } },
        h("legend", {}, t("{label}: at least {n}", { label, n: fact.min_count || 1 })),
        usable.length ? usable.map((v) => h("label", { class: "check" },
          h("input", { type: "checkbox", value: v.id, dataset: { kind: v.kind } }),
          ` ${t(`kind:${v.kind}`)} · ${day(v.occurred_at)} · ${(v.notes || "").slice(0, 40)}`))
          : h("p", { class: "muted" }, t("No meetings or visits logged with this customer yet.")),
        h("p", { class: "field-error", role: "alert", dataset: { for: name } }));
      return box;
    }
    default:
      return field(name, label, { dataset: { fact: fact.code, type: "text" } });
  }
}

/** The facts as the API takes them, from the form's inputs. */
function readFacts(formElement) {
  const facts = [];
  for (const input of formElement.querySelectorAll("input[data-fact]")) {
    const value = input.value.trim();
    if (!value) continue;
    const code = input.dataset.fact;
    if (input.dataset.type === "amount") facts.push({ code, amount: { amount: value, currency: branchCurrency() } });
    else if (input.dataset.type === "date") facts.push({ code, date: value });
    else if (input.dataset.type === "organisations") {
      facts.push({ code, organisations: { names: value.split(/[,，;；]/).map((s) => s.trim()).filter(Boolean) } });
    } else if (input.dataset.type === "document") facts.push({ code, document: { document_id: `console-${newKey()}`, file_name: value } });
    else facts.push({ code, text: value });
  }
  for (const set of formElement.querySelectorAll("fieldset[data-fact]")) {
    const chosen = [...set.querySelectorAll("input:checked")].map((c) => ({ activity_id: c.value, kind: c.dataset.kind }));
    if (chosen.length) facts.push({ code: set.dataset.fact, visits: { visits: chosen } });
  }
  return facts;
}

async function openGate(dialog, model, opportunity, ctx, main) {
  const target = nextStage(model, opportunity.stage);
  if (!target) return;
  const needsVisits = (target.required_facts || []).some((f) => f.type === "visits");
  let visits = [];
  let definitions = [];
  try {
    [visits, definitions] = await Promise.all([
      needsVisits ? get("/v1/follow-ups", { customer_id: opportunity.customer_id, limit: 100 }).then((r) => r.items || []) : [],
      ctx.can("custom_fields:read") ? get("/v1/custom-fields/opportunities").then((r) => r.items || []).catch(() => []) : [],
    ]);
  } catch (error) {
    replace(dialog, failure(error));
  }
  // The opportunity's custom fields: those of every business line and those of its stage model.
  const line = opportunity.stage_model || "default";
  definitions = definitions.filter((d) => !(d.business_lines || []).length || d.business_lines.includes(line));
  const gateForm = form({ method: "dialog", "aria-label": t("Advance to {stage}", { stage: bilingual(target.name) }) },
    h("h2", { id: "gate-title" }, opportunity.name, " → ", bilingual(target.name)),
    (target.required_facts || []).length ? h("p", {}, t("The gate needs these facts:"))
      : h("p", {}, t("This stage needs no facts.")),
    (target.required_facts || []).map((fact) => factInput(fact, visits)),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, target.outcome === "won" ? t("Mark as won") : t("Advance")),
      h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, t("Cancel")),
      ctx.can("opportunities:update") ? h("button", { type: "button", class: "danger", onclick: () => lose() }, t("Mark as lost")) : null));
  onSubmit(gateForm, async (_values, formElement) => {
    const action = target.outcome === "won" ? "won" : "advance";
    const moved = await post(`/v1/opportunities/${opportunity.id}/${action}`, { facts: readFacts(formElement) },
      { "If-Match": `"${opportunity.version}"` });
    dialog.close();
    toast(t("{name} is now in {stage}.", { name: moved.name, stage: bilingual(target.name) }));
    if (location.hash.startsWith("#/board/")) history.replaceState(null, "", "#/board");
    await render(main, ctx, []);
  });
  async function lose() {
    const reason = prompt(t("Why was it lost?"));
    if (!reason) return;
    try {
      await post(`/v1/opportunities/${opportunity.id}/lost`, { reason });
      dialog.close();
      await render(main, ctx, []);
    } catch (error) {
      toast(error.detail || String(error), "error");
    }
  }
  const fields = definitions.length || Object.keys(opportunity.custom_fields || {}).length
    ? customFieldsCard(definitions, opportunity, {
      path: ctx.can("opportunities:update") ? `/v1/opportunities/${encodeURIComponent(opportunity.id)}` : "",
      onSaved: (saved) => openGate(dialog, model, saved, ctx, main) })
    : null;
  replace(dialog, gateForm, fields);
  if (!dialog.open) dialog.showModal();
  gateForm.querySelector("input, button")?.focus();
}
