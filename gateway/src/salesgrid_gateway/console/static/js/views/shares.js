// Share requests (/v1/share-requests): a rep who meets a customer owned by someone else asks its
// owner to share it, from the duplicate warning; the owner or his manager accepts or declines it on
// his Today page. Both sides also hear of it in their inbox (activities).
import { post } from "../api.js";
import { dateTime, t } from "../i18n.js";
import { card, empty, failure, field, form, h, onSubmit, replace, toast } from "../ui.js";

/** "Ask to share" beside a duplicate owned by someone else; replaced by the outcome. */
export function askButton(match) {
  const outcome = h("span", { role: "status" });
  const button = h("button", { type: "button", class: "small secondary",
    "aria-label": t("Ask to share {name}", { name: match.legal_name }), onclick: async () => {
      button.disabled = true;
      try {
        await post(`/v1/customers/${encodeURIComponent(match.customer_id)}/share-requests`, { role: "collaborator" });
        button.replaceWith(outcome);
        outcome.textContent = t("Asked: {owner} will decide.", { owner: match.owner_name || t("the owner") });
      } catch (error) {
        button.disabled = false;
        toast(error.detail || String(error), "error");
      }
    } }, t("Ask to share"));
  return h("span", { class: "actions" }, button, outcome);
}

function requestItem(request, redraw) {
  const who = request.requester || {};
  const decision = form({ class: "inline", "aria-label": t("Decision on sharing {name}", { name: request.customer_name }) },
    field("note", t("Note (optional)")),
    h("div", { class: "actions" },
      h("button", { type: "submit", value: "accept" }, t("Accept")),
      h("button", { type: "submit", value: "decline", class: "secondary" }, t("Decline"))));
  decision.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => (decision.dataset.action = b.value)));
  onSubmit(decision, async (data) => {
    const verb = decision.dataset.action === "decline" ? "decline" : "accept";
    await post(`/v1/share-requests/${encodeURIComponent(request.id)}/${verb}`, { note: data.note || "" });
    toast(verb === "accept" ? t("Shared with {name}.", { name: who.display_name || "" }) : t("Declined."));
    redraw(request.id);
  });
  return h("li", { dataset: { id: request.id } },
    h("strong", {}, t("{who} asks to share {customer}", { who: who.display_name || t("A colleague"), customer: request.customer_name })),
    " ", h("span", { class: "muted" }, [who.unit_name, dateTime(request.created_at)].filter(Boolean).join(" · ")),
    request.message ? h("p", {}, request.message) : null, decision);
}

/** The pending requests the caller may decide (he owns the customer or manages its owner). */
export function incomingCard(settled) {
  const heading = t("Share requests");
  if (settled.error) return card(heading, failure(settled.error));
  const body = h("div", { "data-testid": "share-requests" });
  let items = settled.value.items || [];
  const draw = () => replace(body, items.length
    ? h("ul", { class: "list" }, items.map((r) => requestItem(r, (id) => {
      items = items.filter((x) => x.id !== id);
      draw();
    })))
    : empty(t("No one is waiting for your decision.")));
  draw();
  return card(heading, body);
}
