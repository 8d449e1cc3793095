// A rep's day: reminders (SLA, pool return, overdue instalments and tasks, from /v1/inbox), unread
// announcements, share requests to decide, tasks to accept, follow-ups due, check-in with the
// browser's geolocation, a follow-up, today's daily report, and what is still waiting on the device
// to be sent.
import { Offline, get, post } from "../api.js";
import { branchToday, dateTime, day, number, t } from "../i18n.js";
import { discard, flush, onChange, pending, sendOrQueue } from "../queue.js";
import { card, empty, failure, field, form, h, onSubmit, replace, select, toast } from "../ui.js";
import { announcementsCard } from "./announcements.js";
import { remindersCard } from "./reminders.js";
import { incomingCard } from "./shares.js";

const KINDS = ["call", "visit", "meeting", "email", "other"];

export async function render(main, ctx) {
  const today = branchToday();
  const me = ctx.me.id;
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  // One round trip: every list this screen needs, in parallel.
  const [tasks, followUps, visits, reports, customers, policy, notices, shareRequests, announcements] = await Promise.all([
    settle(get("/v1/tasks", { assignee_id: me, limit: 50 })),
    settle(get("/v1/follow-ups", { owner_id: me, limit: 100 })),
    settle(get("/v1/check-ins", { owner_id: me, limit: 50 })),
    settle(get("/v1/daily-reports", { owner_id: me, from_date: today, to_date: today })),
    settle(get("/v1/customers", { limit: 100 })),
    settle(get(`/v1/unit-policies/${encodeURIComponent(ctx.me.unit_id)}`)),
    settle(get("/v1/inbox", { unread: "true", limit: 50 })),
    ctx.can("customers:share") ? settle(get("/v1/share-requests", { box: "incoming", status: "pending", limit: 20 }))
      : { value: { items: [] } },
    settle(get("/v1/announcements", { mine: "true", unread: "true", limit: 20 })),
  ]);
  // The customers to pick from, kept on the device for a day without network.
  if (customers.value) localStorage.setItem("salesgrid.customers", JSON.stringify(customers.value.items || []));
  const customerList = customers.value?.items || JSON.parse(localStorage.getItem("salesgrid.customers") || "[]");
  const names = new Map(customerList.map((c) => [c.id, c.legal_name]));
  const todaysVisits = (visits.value?.items || []).filter((v) => branchToday(new Date(v.check_in?.received_at || 0)) === today);
  replace(main,
    h("h1", {}, t("Today"), " ", h("small", {}, day(today))),
    h("div", { class: "grid" },
      remindersCard(notices),
      (announcements.value?.items || []).length || announcements.error ? announcementsCard(announcements) : null,
      (shareRequests.value?.items || []).length || shareRequests.error ? incomingCard(shareRequests) : null,
      tasksCard(tasks, main, ctx),
      dueCard(followUps, names, today),
      checkInCard(customerList, todaysVisits, names, main, ctx),
      followUpCard(customerList, main, ctx),
      reportCard(reports, policy, todaysVisits, main, ctx),
      queueCard()));
}

function customerSelect(customers) {
  return select("customer_id", [["", t("Choose a customer")], ...customers.map((c) => [c.id, c.legal_name])]);
}

function tasksCard(tasks, main, ctx) {
  if (tasks.error) return card(t("Tasks"), failure(tasks.error));
  const open = (tasks.value.items || []).filter((task) => ["pending_acceptance", "accepted"].includes(task.status));
  if (!open.length) return card(t("Tasks"), empty(t("No open tasks.")));
  return card(t("Tasks"), h("ul", { class: "list" }, open.map((task) => {
    const actions = task.status === "pending_acceptance"
      ? [h("button", { type: "button", onclick: () => act(`/v1/tasks/${task.id}/accept`, {}) }, t("Accept")),
        h("button", { type: "button", class: "secondary", onclick: () => {
          const reason = prompt(t("Why do you reject this task?"));
          if (reason) act(`/v1/tasks/${task.id}/reject`, { reason });
        } }, t("Reject"))]
      : [h("button", { type: "button", onclick: () => act(`/v1/tasks/${task.id}/complete`, {}) }, t("Done"))];
    return h("li", { class: task.overdue ? "overdue" : "" },
      h("strong", {}, task.title), " ", h("span", { class: "muted" }, task.due_at ? t("due {when}", { when: dateTime(task.due_at) }) : ""),
      task.overdue ? h("span", { class: "tag warn" }, t("overdue")) : null, h("span", { class: "actions" }, actions));
  })));

  async function act(path, body) {
    try {
      await post(path, body);
      await render(main, ctx);
    } catch (error) {
      toast(error.detail || String(error), "error");
    }
  }
}

function dueCard(followUps, names, today) {
  if (followUps.error) return card(t("Follow-ups due"), failure(followUps.error));
  const due = (followUps.value.items || []).filter((f) => f.next_follow_up_on && f.next_follow_up_on <= today)
    .sort((a, b) => a.next_follow_up_on.localeCompare(b.next_follow_up_on));
  if (!due.length) return card(t("Follow-ups due"), empty(t("Nothing due today.")));
  return card(t("Follow-ups due"), h("ul", { class: "list", "data-testid": "due" }, due.map((f) => h("li", {},
    h("a", { href: `#/customers/${f.customer_id}` }, names.get(f.customer_id) || t("Customer")), " ",
    h("span", { class: f.next_follow_up_on < today ? "tag warn" : "tag" }, day(f.next_follow_up_on)),
    h("p", { class: "muted" }, f.notes)))));
}

function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) reject(new Error(t("This browser cannot tell your position.")));
    else navigator.geolocation.getCurrentPosition(resolve, (e) => reject(new Error(t("Position unavailable: {why}", { why: e.message }))),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });
}

async function reading() {
  const fix = await position();
  return { latitude: fix.coords.latitude, longitude: fix.coords.longitude,
    accuracy_m: Math.round(fix.coords.accuracy || 0), device_time: new Date(fix.timestamp || Date.now()).toISOString() };
}

function visitLine(visit, names) {
  const end = visit.check_in || {};
  const flags = end.flags || [];
  const open = !visit.check_out?.received_at;
  const checkOut = open ? h("button", { type: "button", class: "small secondary", onclick: async (event) => {
    const button = event.target;
    button.disabled = true;
    try {
      const outcome = await sendOrQueue("POST", `/v1/check-ins/${visit.id}/check-out`, { reading: await reading() },
        t("Check-out at {name}", { name: names.get(visit.customer_id) || "" }));
      button.replaceWith(h("span", { class: "tag" }, outcome.queued ? t("waiting") : t("checked out")));
    } catch (error) {
      button.disabled = false;
      toast(error.detail || error.message || String(error), "error");
    }
  } }, t("Check out")) : h("span", { class: "tag" }, t("checked out"));
  return h("li", { dataset: { visit: visit.id } }, h("strong", {}, names.get(visit.customer_id) || t("Customer")), " ",
    h("span", { class: "muted" }, dateTime(end.received_at)), " ",
    end.has_distance ? h("span", {}, t("{m} m from the customer", { m: number(end.distance_m) })) : null, " ",
    flags.length ? flags.map((f) => h("span", { class: "tag warn" }, t(`flag:${f}`))) : h("span", { class: "tag ok" }, t("on site")),
    " ", checkOut);
}

function checkInCard(customers, visits, names, main, ctx) {
  const result = h("div", { class: "result", role: "status", "data-testid": "check-in-result" });
  const checkForm = form({ "aria-label": t("Check in") },
    field("customer_id", t("Customer"), {}, customerSelect(customers)),
    h("button", { type: "submit" }, t("Check in here")), result);
  onSubmit(checkForm, async (data) => {
    if (!data.customer_id) {
      checkForm.querySelector('.field-error[data-for="customer_id"]').textContent = t("Choose a customer");
      return;
    }
    const outcome = await sendOrQueue("POST", "/v1/check-ins", { customer_id: data.customer_id, reading: await reading() },
      t("Check-in at {name}", { name: names.get(data.customer_id) || "" }));
    if (outcome.queued) {
      replace(result, h("p", { class: "notice" }, t("Saved on this device; it will be sent when you are back online.")));
      return;
    }
    replace(result, h("ul", { class: "list" }, visitLine(outcome.sent, names)));
    toast(t("Checked in."));
  });
  return card(t("Check in"), checkForm,
    h("h3", {}, t("Today's visits")),
    visits.length ? h("ul", { class: "list", "data-testid": "visits" }, visits.map((v) => visitLine(v, names))) : empty(t("No visits yet today.")));
}

function followUpCard(customers, main, ctx) {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const logForm = form({ "aria-label": t("Log a follow-up") },
    field("customer_id", t("Customer"), {}, customerSelect(customers)),
    field("kind", t("Kind"), {}, select("kind", KINDS.map((k) => [k, t(`kind:${k}`)]))),
    field("occurred_at", t("When"), { type: "datetime-local", value: local }),
    field("notes", t("Notes"), {}, h("textarea", { name: "notes", rows: 3 })),
    field("next_follow_up_on", t("Next follow-up on"), { type: "date" }),
    h("button", { type: "submit" }, t("Save follow-up")));
  onSubmit(logForm, async (data) => {
    const body = { ...data, occurred_at: data.occurred_at ? new Date(data.occurred_at).toISOString() : "" };
    const outcome = await sendOrQueue("POST", "/v1/follow-ups", body, t("Follow-up: {notes}", { notes: (data.notes || "").slice(0, 40) }));
    toast(outcome.queued ? t("Saved on this device; it will be sent when you are back online.") : t("Follow-up saved."));
    logForm.reset();
  });
  return card(t("Log a follow-up"), logForm);
}

function reportCard(reports, policy, visits, main, ctx) {
  const deadline = policy.value?.effective?.report_deadline || "18:00";
  const heading = t("Daily report");
  const note = h("p", { class: "muted" }, t("Due today by {time} ({zone}).", { time: deadline, zone: ctx.unit?.time_zone || "" }));
  if (reports.error && !(reports.error instanceof Offline)) return card(heading, note, failure(reports.error));
  const mine = (reports.value?.items || []).find((r) => r.submitted_at);
  if (mine) {
    return card(heading, h("p", { "data-testid": "report-status" },
      h("span", { class: mine.status === "on_time" ? "tag ok" : "tag warn" }, t(`report:${mine.status}`)), " ",
      t("Submitted {when}", { when: dateTime(mine.submitted_at) })), h("p", {}, mine.summary));
  }
  const reportForm = form({ "aria-label": heading },
    field("summary", t("What did you do today?"), {}, h("textarea", { name: "summary", rows: 4 })),
    field("tomorrow_plan", t("Plan for tomorrow"), {}, h("textarea", { name: "tomorrow_plan", rows: 2 })),
    field("problems", t("Problems, help needed"), {}, h("textarea", { name: "problems", rows: 2 })),
    h("p", { class: "muted" }, t("{n} visits of today are attached.", { n: visits.length })),
    h("button", { type: "submit" }, t("Submit report")));
  onSubmit(reportForm, async (data) => {
    const outcome = await sendOrQueue("POST", "/v1/daily-reports", { ...data, visit_ids: visits.map((v) => v.id) }, heading);
    if (outcome.queued) toast(t("Saved on this device; it will be sent when you are back online."));
    else await render(main, ctx);
  });
  return card(heading, note, reportForm);
}

function queueCard() {
  const body = h("div", { "data-testid": "queue" });
  const draw = (items) => {
    if (!items.length) return replace(body, empty(t("Everything is sent.")));
    replace(body, h("ul", { class: "list" }, items.map((item) => h("li", {},
      h("strong", {}, item.label), " ", h("span", { class: "muted" }, dateTime(item.queued_at)),
      item.error ? h("p", { class: "error" }, item.error) : h("span", { class: "tag" }, t("waiting")),
      item.error ? h("button", { type: "button", class: "secondary", onclick: () => discard(item.key) }, t("Discard")) : null))),
    h("button", { type: "button", onclick: () => flush() }, t("Send now")));
  };
  draw(pending());
  const stop = onChange((items) => (body.isConnected ? draw(items) : stop()));
  return card(t("Waiting on this device"), body);
}
