// The approvals inbox: contracts waiting for the caller's decision first, then the others pending
// in his scope; expense claims (/v1/expense-claims) and quotes' special discounts (特批折扣,
// /v1/quote-approvals) whose step is his; approve with a comment, or reject with a reason (required
// by the API). Each kind shows only with its permission from /v1/me.
import { get, post } from "../api.js";
import { dateTime, day, money, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, replace, toast } from "../ui.js";
import { decisionForm } from "./expenses.js";

export const visible = (ctx) => ctx.can("contracts:approve") || ctx.can("expenses:approve") || ctx.can("quotes:approve");

export async function render(main, ctx) {
  const none = Promise.resolve({ items: [] });
  const [pending, users, claims, quotes] = await Promise.all([
    ctx.can("contracts:approve") ? get("/v1/contracts", { status: "pending_approval", limit: 100 }) : none,
    get("/v1/users", { limit: 500 }).catch(() => ({ items: [] })),
    ctx.can("expenses:approve") ? get("/v1/expense-claims", { status: "submitted", limit: 100 }) : none,
    ctx.can("quotes:approve") ? get("/v1/quote-approvals") : none,
  ]);
  const names = new Map((users.items || []).map((u) => [u.id, u.display_name || u.login]));
  const waitingOn = (c) => (c.approval_steps || []).find((s) => s.status === "pending");
  const mine = (pending.items || []).filter((c) => waitingOn(c)?.approver_id === ctx.me.id);
  const others = (pending.items || []).filter((c) => !mine.includes(c));
  const myClaims = (claims.items || []).filter((c) => waitingOn(c)?.approver_id === ctx.me.id);
  const redraw = () => render(main, ctx);
  replace(main, h("h1", {}, t("Approvals")),
    ctx.can("contracts:approve") ? card(t("Waiting for you"), mine.length ? h("ul", { class: "list", "data-testid": "my-approvals" },
      mine.map((c) => contractItem(c, names, main, ctx, true))) : empty(t("Nothing waits for your decision."))) : null,
    ctx.can("expenses:approve") ? card(t("Expense claims"), myClaims.length
      ? h("ul", { class: "list", "data-testid": "expense-approvals" }, myClaims.map((c) => h("li", { dataset: { id: c.id } },
        h("a", { href: `#/expenses/${encodeURIComponent(c.id)}` }, c.title || t("Expense claim")), " ", money(c.total, c.currency, 2), " ",
        h("span", { class: "muted" }, t("by {owner}, {when}", { owner: names.get(c.owner_id) || c.owner_id, when: dateTime(c.submitted_at) })),
        decisionForm(c, redraw))))
      : empty(t("No expense claim waits for your decision."))) : null,
    ctx.can("quotes:approve") ? card(t("Special discounts"), (quotes.items || []).length
      ? h("ul", { class: "list", "data-testid": "discount-approvals" }, quotes.items.map((q) => quoteItem(q, names, redraw)))
      : empty(t("No special discount waits for your decision."))) : null,
    others.length ? card(t("Pending with others"), h("ul", { class: "list" }, others.map((c) => contractItem(c, names, main, ctx, false)))) : null);
}

function quoteItem(quote, names, done) {
  const decision = form({ class: "inline", "aria-label": t("Decision on the discount of quote {n}", { n: quote.version }) },
    field("comment", t("Comment (required to reject)")),
    h("div", { class: "actions" },
      h("button", { type: "submit", value: "approve" }, t("Approve")),
      h("button", { type: "submit", value: "reject", class: "danger" }, t("Reject"))));
  decision.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => (decision.dataset.action = b.value)));
  onSubmit(decision, async (data) => {
    const action = decision.dataset.action || "approve";
    await post(`/v1/quotes/${encodeURIComponent(quote.id)}/discount-approval/${action}`, { comment: data.comment || "" });
    toast(action === "approve" ? t("Approved.") : t("Rejected."));
    await done();
  });
  const lines = (quote.lines || []).map((l) => `${l.name || l.product_id} × ${l.quantity}`).join(", ");
  return h("li", { dataset: { id: quote.id } },
    h("a", { href: `#/board/${encodeURIComponent(quote.opportunity_id)}` }, t("Quote v{n}", { n: quote.version })), " ",
    money(quote.total, quote.currency), " ", h("span", { class: "tag warn" }, t("discount {rate}%", { rate: quote.discount_rate })), " ",
    h("span", { class: "muted" }, t("by {owner}", { owner: names.get(quote.created_by) || quote.created_by })),
    h("p", { class: "muted" }, lines), decision);
}

function contractItem(contract, names, main, ctx, decide) {
  const step = (contract.approval_steps || []).find((s) => s.status === "pending");
  const lines = (contract.lines || []).map((l) => `${l.product_name || l.product_id} × ${l.quantity}`).join(", ");
  const decision = form({ class: "inline", "aria-label": t("Decision on {number}", { number: contract.number }) },
    field("comment", t("Comment (required to reject)")),
    h("div", { class: "actions" },
      h("button", { type: "submit", value: "approve" }, t("Approve")),
      h("button", { type: "submit", value: "reject", class: "danger" }, t("Reject"))));
  onSubmit(decision, async (data) => {
    const action = decision.dataset.action || "approve";
    await post(`/v1/contracts/${contract.id}/${action}`, action === "approve" ? { comment: data.comment || "", version: contract.version } : { comment: data.comment || "" });
    toast(action === "approve" ? t("Approved.") : t("Rejected."));
    await render(main, ctx);
  });
  decision.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => (decision.dataset.action = b.value)));
  return h("li", { dataset: { id: contract.id } },
    h("strong", {}, contract.number || contract.id.slice(0, 8)), " ", money(contract.total, contract.currency), " ",
    h("span", { class: "muted" }, t("by {owner}, {start} – {end}", { owner: names.get(contract.owner_id) || contract.owner_id,
      start: day(contract.start_date), end: day(contract.end_date) })),
    h("p", { class: "muted" }, lines),
    step ? h("p", {}, t("Step {n}: {role} ({who})", { n: step.order, role: step.role, who: names.get(step.approver_id) || step.approver_id })) : null,
    decide ? decision : null);
}
