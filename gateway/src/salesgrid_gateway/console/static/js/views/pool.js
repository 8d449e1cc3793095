// The public pool (公海). Before any claim the rep sees the policy of his unit and where he stands
// under it (from /v1/pool/standing): customers held against the cap, claims left today, and the
// customers he released himself that he may not claim back yet. A claim the caps refuse is not offered.
import { Problem, get, post } from "../api.js";
import { dateTime, number, t } from "../i18n.js";
import { card, failure, h, pagedList, replace, toast } from "../ui.js";

const ofCap = (used, cap) => (cap === undefined || cap === null
  ? t("{n} (no cap)", { n: number(used) }) : t("{n} of {cap}", { n: number(used), cap: number(cap) }));

/** Why the caps refuse any claim now ("" when they do not). */
export function blockedBy(standing) {
  if (!standing || standing.can_claim) return "";
  if (standing.customers_left === 0) return t("You hold as many customers as your unit allows: release one before you claim.");
  return t("You have used today's claims: claim again tomorrow.");
}

function standingBox(standing) {
  const policy = standing.policy || {};
  const blocked = blockedBy(standing);
  return h("section", { class: "card", "aria-labelledby": "pool-rules", "data-testid": "pool-policy" },
    h("h2", { id: "pool-rules" }, t("Your pool allowance")),
    h("dl", { class: "kpis" },
      h("div", {}, h("dt", {}, t("Customers you hold")), h("dd", {}, ofCap(standing.held_count || 0, policy.max_customers_per_rep))),
      h("div", {}, h("dt", {}, t("Claims today")), h("dd", {}, ofCap(standing.claims_today || 0, policy.max_claims_per_day)))),
    h("p", { class: "muted" }, t("A customer you release can be claimed back by you only after {days} days.",
      { days: number(policy.reclaim_cooldown_days || 0) })),
    blocked ? h("p", { class: "warn", role: "status", "data-testid": "pool-blocked" }, blocked) : null);
}

export async function render(main, ctx) {
  let standing = null;
  let problem = null;
  const first = get("/v1/pool", { limit: 20 }); // in parallel with the standing: one round trip
  first.catch(() => {}); // its failure is shown by the list
  try {
    standing = await get("/v1/pool/standing");
  } catch (error) {
    problem = error;
  }
  const cooling = new Map((standing?.cool_downs || []).map((c) => [c.customer_id, c.claimable_from]));
  const mayClaim = ctx.can("pool:claim") && !blockedBy(standing);
  const claimButton = (c) => {
    const until = cooling.get(c.id);
    if (until) return h("span", { class: "tag warn" }, t("You may claim it back from {when}", { when: dateTime(until) }));
    if (!ctx.can("pool:claim")) return null;
    return h("button", { type: "button", class: "small", disabled: !mayClaim,
      "aria-label": t("Claim {name}", { name: c.legal_name }), onclick: async (event) => {
        event.target.disabled = true;
        try {
          await post(`/v1/pool/${c.id}/claim`, {});
          toast(t("Claimed."));
          location.hash = `#/customers/${c.id}`;
        } catch (error) {
          event.target.disabled = false;
          toast(error.detail || String(error), "error");
          // Refused by a standing that changed since the page was drawn (a claim or release from
          // another device): draw the allowance and the cool-downs as they are now.
          if (error instanceof Problem && error.status === 422) await render(main, ctx).catch(() => {});
        }
      } }, t("Claim"));
  };
  replace(main, h("p", {}, h("a", { href: "#/customers" }, "← ", t("Customers"))), h("h1", {}, t("Public pool")),
    h("div", { class: "grid wide-first" },
      card(t("Public pool"), pagedList((cursor) => (cursor ? get("/v1/pool", { cursor, limit: 20 }) : first), (c) =>
        h("li", { dataset: { id: c.id } }, h("strong", {}, c.legal_name), " ",
          h("span", { class: "muted" }, c.industry || ""), " ", claimButton(c)),
      { emptyText: t("The pool is empty.") })),
      standing ? standingBox(standing) : card(t("Your pool allowance"), failure(problem))));
}
