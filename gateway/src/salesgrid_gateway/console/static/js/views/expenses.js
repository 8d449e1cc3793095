// Sales expenses (销售费用, /v1/expense-claims): a rep files a claim — lines by category and day,
// each linked to the visit, customer or opportunity it was spent on, a receipt per line — and
// submits it; the daily limits of his unit's policy are checked as he types and again by the API,
// whose refusal lands beside the line it names. His claims with their state; one claim's page
// (receipts, approval steps) where the approver decides and finance (expenses:pay) pays it.
import { Problem, api, get, post } from "../api.js";
import { branchCurrency, branchToday, dateTime, day, money, t } from "../i18n.js";
import { download } from "../files.js";
import { card, empty, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";

export const CATEGORIES = ["travel", "communication", "entertainment", "other"];
const categoryLabel = (c) => ({ travel: t("Travel"), communication: t("Communication"), entertainment: t("Entertainment"),
  other: t("Other") })[c] || c;
const statusLabel = (s) => ({ draft: t("Draft"), submitted: t("Submitted"), approved: t("Approved"), rejected: t("Rejected"),
  paid: t("Paid") })[s] || s;

export const visible = (ctx) => ctx.can("expenses:create") || ctx.can("expenses:read") || ctx.can("expenses:pay");

/** Lines whose category's total for their day passes the policy's daily limit: the first line of
 * each such day and category, with the total and the limit (amounts in the claim's currency). */
export function overLimits(lines, policy) {
  const limits = new Map((policy?.limits || []).map((l) => [l.category, Number(l.daily_limit)]));
  const groups = new Map();
  lines.forEach((line, index) => {
    const key = `${line.spent_on}|${line.category}`;
    const group = groups.get(key) || { index, category: line.category, spent_on: line.spent_on, total: 0 };
    group.total += Number(line.amount) || 0;
    groups.set(key, group);
  });
  return [...groups.values()].filter((g) => limits.has(g.category) && g.total > limits.get(g.category) + 1e-9)
    .map((g) => ({ ...g, limit: limits.get(g.category) }));
}

export async function render(main, ctx, [id] = []) {
  if (id) return renderClaim(main, ctx, id);
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  const creating = ctx.can("expenses:create");
  const [policy, customers, deals, visits, toPay] = await Promise.all([
    creating ? settle(get(`/v1/expense-policies/${encodeURIComponent(ctx.me.unit_id)}`)) : { value: null },
    creating ? settle(get("/v1/customers", { limit: 100 })) : { value: { items: [] } },
    creating ? settle(get("/v1/opportunities", { owner_id: ctx.me.id, limit: 100 })) : { value: { items: [] } },
    creating ? settle(get("/v1/check-ins", { owner_id: ctx.me.id, limit: 50 })) : { value: { items: [] } },
    ctx.can("expenses:pay") ? settle(get("/v1/expense-claims", { status: "approved", limit: 50 })) : { value: null },
  ]);
  const mine = pagedList((cursor) => get("/v1/expense-claims", { owner_id: ctx.me.id, cursor, limit: 20 }),
    (c) => claimItem(c), { emptyText: t("No expense claims yet.") });
  replace(main, h("h1", {}, t("Expenses")),
    h("div", { class: "grid wide-first" },
      creating ? newClaimCard(main, ctx, policy.value, customers.value?.items || [], deals.value?.items || [], visits.value?.items || [])
        : null,
      h("div", { class: "stack" },
        card(t("My expense claims"), h("div", { "data-testid": "my-claims" }, mine)),
        toPay.value ? card(t("Approved, to pay"), (toPay.value.items || []).length
          ? h("ul", { class: "list", "data-testid": "claims-to-pay" }, toPay.value.items.map((c) => claimItem(c)))
          : empty(t("No approved claim waits for payment."))) : null)));
}

function claimItem(claim) {
  return h("li", { dataset: { id: claim.id, status: claim.status } },
    h("a", { href: `#/expenses/${encodeURIComponent(claim.id)}` }, claim.title || t("Expense claim")), " ",
    money(claim.total, claim.currency, 2), " ", h("span", { class: `tag ${claim.status === "rejected" ? "warn" : ""}` },
      statusLabel(claim.status)), " ", h("span", { class: "muted" }, dateTime(claim.submitted_at || claim.created_at)));
}

function lineFields(index, customers, deals, visits) {
  const name = (part) => `lines[${index}].${part}`;
  const optional = (items, label) => [["", t("None")], ...items.map((i) => [i.id, label(i)])];
  const names = new Map(customers.map((c) => [c.id, c.legal_name]));
  return h("fieldset", { class: "line", dataset: { line: index } },
    h("legend", {}, t("Line {n}", { n: index + 1 })),
    field(name("category"), t("Category"), {}, select(name("category"), CATEGORIES.map((c) => [c, categoryLabel(c)]))),
    field(name("spent_on"), t("Day"), { type: "date", value: branchToday(), required: true }),
    field(name("amount"), t("Amount"), { inputmode: "decimal", required: true, autocomplete: "off" }),
    field(name("description"), t("Description")),
    field(name("customer_id"), t("Customer"), {}, select(name("customer_id"), optional(customers, (c) => c.legal_name))),
    field(name("opportunity_id"), t("Opportunity"), {}, select(name("opportunity_id"), optional(deals, (o) => o.name))),
    field(name("visit_id"), t("Visit"), {}, select(name("visit_id"), optional(visits,
      (v) => `${names.get(v.customer_id) || ""} ${dateTime(v.check_in?.received_at)}`.trim()))),
    field(name("receipts"), t("Receipt (JPEG, PNG or PDF)"), { type: "file", accept: "image/jpeg,image/png,application/pdf" }));
}

function newClaimCard(main, ctx, policy, customers, deals, visits) {
  const lines = h("div", { class: "lines" }, lineFields(0, customers, deals, visits));
  const limits = (policy?.limits || []).length
    ? h("p", { class: "muted" }, t("Daily limits: {limits}", { limits: policy.limits.map((l) =>
      `${categoryLabel(l.category)} ${money(l.daily_limit, policy.currency, 2)}`).join(", ") }))
    : null;
  const add = h("button", { type: "button", class: "secondary", onclick: () =>
    lines.append(lineFields(lines.children.length, customers, deals, visits)) }, t("Add a line"));
  const claimForm = form({ "aria-label": t("New expense claim") },
    field("title", t("Title"), { required: true }), limits, lines, h("div", { class: "actions" }, add,
      h("button", { type: "submit" }, t("Submit for approval"))));
  onSubmit(claimForm, async (data, formElement) => {
    const rows = [...lines.children].map((_, i) => ({
      category: data[`lines[${i}].category`] || "other", spent_on: data[`lines[${i}].spent_on`] || "",
      amount: data[`lines[${i}].amount`] || "", description: data[`lines[${i}].description`] || "",
      customer_id: data[`lines[${i}].customer_id`] || "", opportunity_id: data[`lines[${i}].opportunity_id`] || "",
      visit_id: data[`lines[${i}].visit_id`] || "",
    }));
    const files = [...lines.children].map((_, i) => formElement.querySelector(`input[name="lines[${i}].receipts"]`)?.files?.[0]);
    // The policy's limits, before anything is written (the API checks them again with the days'
    // other claims on submit).
    const over = policy?.currency ? overLimits(rows, policy) : [];
    const missing = files.map((f, i) => (f ? null : { field: `lines[${i}].receipts`, message: t("Attach a receipt.") }))
      .filter(Boolean);
    if (over.length || missing.length) {
      throw new Problem(400, { detail: t("Please correct the marked lines."), errors: [...missing, ...over.map((g) => ({
        field: `lines[${g.index}].amount`, message: t("{category} on {day} comes to {total}, above the daily limit of {limit}.",
          { category: categoryLabel(g.category), day: day(g.spent_on), total: money(g.total, policy.currency, 2),
            limit: money(g.limit, policy.currency, 2) }) }))] });
    }
    let claim = await post("/v1/expense-claims", { title: data.title || "", currency: policy?.currency || branchCurrency(),
      lines: rows });
    try {
      for (const [i, file] of files.entries()) {
        claim = await api("POST", `/v1/expense-claims/${encodeURIComponent(claim.id)}/lines/${i + 1}/receipts`,
          { body: file, query: { file_name: file.name }, headers: { "Content-Type": file.type || "application/octet-stream" } });
      }
      await post(`/v1/expense-claims/${encodeURIComponent(claim.id)}/submit`, {});
    } catch (error) {
      // The draft is kept (a claim is never edited): the reason lands beside its line, and the
      // draft waits under "My expense claims" to be submitted again or left.
      if (error instanceof Problem) error.detail = t("Saved as a draft, not submitted: {why}", { why: error.detail });
      throw error;
    }
    toast(t("Expense claim submitted."));
    await render(main, ctx);
  });
  return card(t("New expense claim"), claimForm);
}

async function renderClaim(main, ctx, id) {
  const [claim, users] = await Promise.all([
    get(`/v1/expense-claims/${encodeURIComponent(id)}`),
    get("/v1/users", { limit: 500 }).catch(() => ({ items: [] })),
  ]);
  const names = new Map((users.items || []).map((u) => [u.id, u.display_name || u.login]));
  const step = (claim.approval_steps || []).find((s) => s.status === "pending");
  const receipts = (line) => (claim.receipts || []).filter((r) => r.line_no === line.line_no);
  const redraw = () => renderClaim(main, ctx, id);
  replace(main, h("p", {}, h("a", { href: "#/expenses" }, "← ", t("Expenses"))),
    h("h1", {}, claim.title || t("Expense claim"), " ", h("span", { class: "tag", "data-testid": "claim-status" },
      statusLabel(claim.status))),
    h("p", {}, t("{owner}: {total}", { owner: names.get(claim.owner_id) || claim.owner_id, total: money(claim.total, claim.currency, 2) })),
    card(t("Lines"), h("ul", { class: "list" }, (claim.lines || []).map((line) => h("li", {},
      h("strong", {}, categoryLabel(line.category)), " ", day(line.spent_on), " ", money(line.amount, claim.currency, 2), " ",
      h("span", { class: "muted" }, line.description || ""), " ",
      receipts(line).map((r) => h("button", { type: "button", class: "small secondary", onclick: () =>
        download(`/v1/expense-claims/${encodeURIComponent(claim.id)}/receipts/${encodeURIComponent(r.id)}`, r.file_name)
          .catch((e) => toast(e.detail || String(e), "error")) }, t("Receipt {name}", { name: r.file_name }))))))),
    (claim.approval_steps || []).length ? card(t("Approval"), h("ol", {}, claim.approval_steps.map((s) => h("li", {},
      t("Step {n}: {role} ({who})", { n: s.order, role: s.role, who: names.get(s.approver_id) || s.approver_id }), " ",
      h("span", { class: "tag" }, statusLabel(s.status === "pending" ? "submitted" : s.status)), s.comment ? ` — ${s.comment}` : "")))) : null,
    claim.status === "draft" && claim.owner_id === ctx.me.id ? submitDraft(claim, redraw) : null,
    step && step.approver_id === ctx.me.id && ctx.can("expenses:approve") ? decisionForm(claim, redraw) : null,
    claim.status === "approved" && ctx.can("expenses:pay") ? payForm(claim, redraw) : null,
    claim.status === "paid" ? h("p", {}, t("Paid on {day} ({reference}).", { day: day(claim.paid_on), reference: claim.payment_reference })) : null);
}

function submitDraft(claim, redraw) {
  const submit = form({ "aria-label": t("Submit the draft") }, h("button", { type: "submit" }, t("Submit for approval")));
  onSubmit(submit, async () => {
    await post(`/v1/expense-claims/${encodeURIComponent(claim.id)}/submit`, {});
    toast(t("Expense claim submitted."));
    await redraw();
  });
  return card(t("Draft"), submit);
}

/** Approve, or reject with a reason (the API requires it): the step's approver only. */
export function decisionForm(claim, done) {
  const decision = form({ class: "inline", "aria-label": t("Decision on the expense claim {title}", { title: claim.title || claim.id }) },
    field("comment", t("Comment (required to reject)")),
    h("div", { class: "actions" },
      h("button", { type: "submit", value: "approve" }, t("Approve")),
      h("button", { type: "submit", value: "reject", class: "danger" }, t("Reject"))));
  decision.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => (decision.dataset.action = b.value)));
  onSubmit(decision, async (data) => {
    const action = decision.dataset.action || "approve";
    await post(`/v1/expense-claims/${encodeURIComponent(claim.id)}/${action}`, { comment: data.comment || "" });
    toast(action === "approve" ? t("Approved.") : t("Rejected."));
    await done();
  });
  return decision;
}

function payForm(claim, redraw) {
  const pay = form({ "aria-label": t("Pay the claim") },
    field("paid_on", t("Paid on"), { type: "date", value: branchToday() }),
    field("payment_reference", t("Payment reference")),
    h("button", { type: "submit" }, t("Mark paid")));
  onSubmit(pay, async (data) => {
    await post(`/v1/expense-claims/${encodeURIComponent(claim.id)}/pay`, { paid_on: data.paid_on || "",
      payment_reference: data.payment_reference || "" });
    toast(t("Paid."));
    await redraw();
  });
  return card(t("Payment"), pay);
}
