// The approvals inbox: contracts waiting for the caller's decision first, then the others pending
// in his scope; approve with a comment, or reject with a reason (required by the API).
import { get, post } from "../api.js";
import { day, money, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, replace, toast } from "../ui.js";

export async function render(main, ctx) {
  const [pending, users] = await Promise.all([
    get("/v1/contracts", { status: "pending_approval", limit: 100 }),
    get("/v1/users", { limit: 500 }).catch(() => ({ items: [] })),
  ]);
  const names = new Map((users.items || []).map((u) => [u.id, u.display_name || u.login]));
  const waitingOn = (c) => (c.approval_steps || []).find((s) => s.status === "pending");
  const mine = (pending.items || []).filter((c) => waitingOn(c)?.approver_id === ctx.me.id);
  const others = (pending.items || []).filter((c) => !mine.includes(c));
  replace(main, h("h1", {}, t("Approvals")),
    card(t("Waiting for you"), mine.length ? h("ul", { class: "list", "data-testid": "my-approvals" },
      mine.map((c) => contractItem(c, names, main, ctx, true))) : empty(t("Nothing waits for your decision."))),
    others.length ? card(t("Pending with others"), h("ul", { class: "list" }, others.map((c) => contractItem(c, names, main, ctx, false)))) : null);
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
