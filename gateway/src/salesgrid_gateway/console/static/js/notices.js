// Inbox notices in the reader's language: each item carries its kind and the facts of its title
// (`params`, set by the service that raised it); the title is rendered here from a template per
// kind. The English `title` the API also stores is the fallback (an unknown kind, or a notice stored
// before parameters existed).
import { bilingual, day, money, t } from "./i18n.js";

const amount = (value, currency) => (value ? money({ amount: value, currency }, undefined, 2) : "");
const reasonOf = (rule) => ({
  no_follow_up: t("no follow-up"), no_opportunity: t("no new opportunity"), no_deal: t("no deal"),
})[rule] || rule;

/** kind → (params) => title; a template per outcome where the sentence changes with it. */
const TEMPLATES = {
  sla_overdue: (p) => t("Stage {stage} is overdue (due {due})", { stage: bilingual(p.stage), due: day(p.due_date) }),
  sla_escalated: (p) => t("Stage {stage} escalated: overdue since {due}", { stage: bilingual(p.stage), due: day(p.due_date) }),
  pool_return_warning: (p) => t("Customer returns to the public pool on {date} ({reason})",
    { date: day(p.date), reason: reasonOf(p.rule) }),
  ownership_decided: (p) => (p.decided === "true"
    ? t("Ownership decided ({rule}): {reason}", { rule: p.rule, reason: p.reason })
    : t("Ownership undecided: {reason}", { reason: p.reason || p.rule })),
  share_requested: (p) => t("{requester} asks to share {customer}", { requester: p.requester || t("A colleague"), customer: p.customer }),
  share_request_decided: (p) => (p.status === "accepted"
    ? t("Share request for {customer} accepted by {who}", { customer: p.customer, who: p.decided_by || t("the owner") })
    : t("Share request for {customer} declined by {who}", { customer: p.customer, who: p.decided_by || t("the owner") })),
  instalment_overdue: (p) => t("Contract {number}: instalment {seq} due {due} is overdue ({outstanding})",
    { number: p.number, seq: p.seq, due: day(p.due_date), outstanding: amount(p.outstanding, p.currency) }),
  task_reminder: (p) => (Number(p.minutes_before) > 0
    ? t("Reminder: {task} (in {minutes} min)", { task: p.task, minutes: p.minutes_before })
    : t("Reminder: {task} (now)", { task: p.task })),
  task_overdue: (p) => t("Task overdue: {task}", { task: p.task }),
  expense_approval: (p) => reminder(p, t("Expense claim of {total} awaits your approval", { total: amount(p.total, p.currency) })),
  expense_settled: (p) => {
    const total = amount(p.total, p.currency);
    if (p.status === "approved") return t("Your expense claim of {total} was approved", { total });
    if (p.status === "paid") return t("Your expense claim of {total} was paid", { total });
    return p.comment ? t("Your expense claim of {total} was rejected: {comment}", { total, comment: p.comment })
      : t("Your expense claim of {total} was rejected", { total });
  },
  announcement: (p) => t("Announcement: {title}", { title: p.title }),
  spot_check_assigned: (p) => t("Spot check {week}: verify a follow-up", { week: p.week }),
  spot_check_false: (p) => t("Spot check {week}: a follow-up was found false (fine {fine})",
    { week: p.week, fine: amount(p.fine, p.currency) }),
  discount_approval: (p) => reminder(p, t("A special discount of {rate}% awaits your approval", { rate: p.rate })),
  discount_settled: (p) => {
    if (p.status === "approved") return t("The special discount of {rate}% was approved", { rate: p.rate });
    return p.comment ? t("The special discount of {rate}% was rejected: {comment}", { rate: p.rate, comment: p.comment })
      : t("The special discount of {rate}% was rejected", { rate: p.rate });
  },
  webhook_disabled: (p) => t("Webhook to {url} disabled: {reason}. Re-enable it once the endpoint answers again",
    { url: p.url, reason: p.reason }),
};

function reminder(p, text) {
  return p.reminder === "true" ? t("Reminder: {text}", { text }) : text;
}

/** The notice's title in the current language (its stored English title when no template fits). */
export function noticeTitle(notice) {
  const params = notice?.params || {};
  const template = TEMPLATES[notice?.kind];
  if (!template || !Object.keys(params).length) return notice?.title || "";
  try {
    return template(params);
  } catch {
    return notice.title || "";
  }
}

/** A short label of the kind (the tag shown before a notice). */
export function kindLabel(kind) {
  return ({
    sla_escalated: t("SLA escalated"), sla_overdue: t("SLA overdue"), pool_return_warning: t("Returns to the pool"),
    instalment_overdue: t("Instalment overdue"), task_overdue: t("Task overdue"), task_reminder: t("Task reminder"),
    ownership_decided: t("Ownership"), share_requested: t("Share request"), share_request_decided: t("Share request"),
    expense_approval: t("Expense approval"), expense_settled: t("Expense claim"), announcement: t("Announcements"),
    spot_check_assigned: t("Spot check"), spot_check_false: t("Spot check"), discount_approval: t("Discount approval"),
    discount_settled: t("Discount approval"), webhook_disabled: t("Webhook"),
  })[kind] || kind;
}

/** Where a notice's record opens in the console (null: no screen for it). */
export function noticeLink(notice) {
  const id = encodeURIComponent(notice?.record?.id || "");
  return ({
    opportunity: `#/board/${id}`, customer: `#/customers/${id}`, expense_claim: `#/expenses/${id}`,
    quote: "#/approvals", spot_check: "#/spot-checks", announcement: "#/announcements", task: "#/today",
    share_request: "#/today",
  })[notice?.record?.type] || null;
}
