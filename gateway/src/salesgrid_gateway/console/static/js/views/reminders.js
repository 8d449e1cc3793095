// Reminders on the Today page, from the caller's unread inbox (/v1/inbox): stages past their SLA,
// customers about to return to the public pool, overdue instalments and tasks. Each links to its
// record and can be marked read (POST /v1/inbox/{id}/read); other notices stay in the inbox.
import { post } from "../api.js";
import { dateTime, t } from "../i18n.js";
import { kindLabel, noticeTitle } from "../notices.js";
import { card, empty, failure, h, replace, toast } from "../ui.js";

export const REMINDER_KINDS = ["sla_escalated", "sla_overdue", "pool_return_warning", "instalment_overdue", "task_overdue",
  "task_reminder"];
const LINKS = { opportunity: (id) => `#/board/${id}`, customer: (id) => `#/customers/${id}` };

/** The unread notices that are reminders, the most urgent kind first, newest first within a kind. */
export function reminders(items) {
  return (items || []).filter((n) => REMINDER_KINDS.includes(n.kind) && !n.read)
    .sort((a, b) => REMINDER_KINDS.indexOf(a.kind) - REMINDER_KINDS.indexOf(b.kind)
      || String(b.occurred_at).localeCompare(String(a.occurred_at)));
}

function item(notice, remove) {
  const link = LINKS[notice.record?.type];
  const text = noticeTitle(notice);
  const title = link ? h("a", { href: link(notice.record.id) }, text) : h("span", {}, text);
  const warn = ["sla_escalated", "sla_overdue", "pool_return_warning", "instalment_overdue", "task_overdue"].includes(notice.kind);
  return h("li", { dataset: { kind: notice.kind, id: notice.id } },
    h("span", { class: warn ? "tag warn" : "tag" }, kindLabel(notice.kind)), " ", title, " ",
    h("span", { class: "muted" }, dateTime(notice.occurred_at)), " ",
    h("button", { type: "button", class: "small secondary", "aria-label": t("Mark read: {title}", { title: text }),
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          await post(`/v1/inbox/${encodeURIComponent(notice.id)}/read`, {});
          remove(notice.id);
        } catch (error) {
          event.target.disabled = false;
          toast(error.detail || String(error), "error");
        }
      } }, t("Mark read")));
}

export function remindersCard(settled) {
  const heading = t("Reminders");
  if (settled.error) return card(heading, failure(settled.error));
  let items = reminders(settled.value?.items);
  // Other unread notices (approvals waiting, settled claims, spot checks…) are in the inbox.
  const others = (settled.value?.items || []).filter((n) => !n.read && !REMINDER_KINDS.includes(n.kind)).length;
  const more = others ? h("p", {}, h("a", { href: "#/inbox?unread=true" }, t("{n} more unread in your inbox", { n: others }))) : null;
  const body = h("div", { "data-testid": "reminders" });
  const draw = () => replace(body, items.length
    ? h("ul", { class: "list" }, items.map((n) => item(n, (id) => {
      items = items.filter((x) => x.id !== id);
      draw();
    })))
    : empty(t("No reminders.")), more);
  draw();
  return card(heading, body);
}
