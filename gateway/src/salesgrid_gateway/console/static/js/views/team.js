// A supervisor's or manager's team: daily reports to read and comment on, tasks and leads to
// assign, the team calendar for the week, and the target decomposition editor with its
// children-sum check.
import { get, post } from "../api.js";
import { branchCurrency, branchMonth, branchToday, dateTime, day, money, t } from "../i18n.js";
import { card, empty, failure, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";
import { exportCard } from "./exports.js";
import { leadsCard } from "./leads.js";

export function visible(ctx) {
  return ctx.can("daily_reports:review") || ctx.wide("tasks:create") || ctx.wide("leads:assign");
}

export async function render(main, ctx) {
  const [users, leadFields] = await Promise.all([
    get("/v1/users", { limit: 500 }).then((r) => r.items || []).catch(() => []),
    ctx.wide("leads:assign") && ctx.can("custom_fields:read")
      ? get("/v1/custom-fields/leads").then((r) => r.items || []).catch(() => []) : [],
  ]);
  const names = new Map(users.map((u) => [u.id, u.display_name || u.login]));
  const team = users.filter((u) => u.id !== ctx.me.id && u.active !== false);
  const today = branchToday();
  const weekAgo = branchToday(new Date(Date.now() - 6 * 86400_000));
  replace(main, h("h1", {}, t("Team")),
    h("div", { class: "grid" },
      ctx.can("daily_reports:review") ? reportsCard(names, weekAgo, today) : null,
      h("div", { class: "stack" },
        ctx.wide("tasks:create") ? taskCard(team) : null,
        calendarCard(ctx, names)),
      ctx.wide("leads:assign") ? leadsCard(team, ctx, leadFields) : null,
      ctx.can("leads:export") ? exportCard("leads", t("Export leads")) : null,
      ctx.can("targets:update") ? targetsCard(ctx, team) : null));
}

function reportsCard(names, from, to) {
  return card(t("Daily reports"), pagedList((cursor) => get("/v1/daily-reports", { from_date: from, to_date: to, cursor, limit: 20 }), (r) => {
    const thread = h("ul", { class: "list comments" });
    const comment = form({ class: "inline", "aria-label": t("Comment on the report of {name}", { name: names.get(r.owner_id) || "" }) },
      field("body", t("Comment")), h("button", { type: "submit", class: "small" }, t("Send")));
    onSubmit(comment, async (data, element) => {
      await post(`/v1/daily-reports/${r.id}/comments`, { body: data.body || "" });
      element.reset();
      await loadThread();
    });
    async function loadThread() {
      try {
        const reply = await get(`/v1/daily-reports/${r.id}/comments`);
        replace(thread, (reply.items || []).map((c) => h("li", {}, h("strong", {}, names.get(c.author_id) || ""), " ",
          h("span", { class: "muted" }, dateTime(c.created_at)), h("p", {}, c.body))));
      } catch (error) {
        replace(thread, failure(error));
      }
    }
    return h("li", { dataset: { id: r.id } },
      h("strong", {}, names.get(r.owner_id) || r.owner_id), " ", h("span", { class: "muted" }, day(r.report_date)), " ",
      h("span", { class: r.status === "on_time" ? "tag ok" : "tag warn" }, t(`report:${r.status}`)),
      r.falsified ? h("span", { class: "tag warn" }, t("falsified")) : null,
      h("p", {}, r.summary), r.tomorrow_plan ? h("p", { class: "muted" }, t("Tomorrow: {plan}", { plan: r.tomorrow_plan })) : null,
      r.problems ? h("p", { class: "warn" }, r.problems) : null,
      h("span", { class: "actions" },
        h("button", { type: "button", class: "small secondary", onclick: loadThread }, t("Comments")),
        r.falsified ? null : h("button", { type: "button", class: "small danger", onclick: async (event) => {
          const why = prompt(t("What in this report is not true?"));
          if (!why) return;
          try {
            await post(`/v1/daily-reports/${r.id}/falsify`, { comment: why });
            event.target.replaceWith(h("span", { class: "tag warn" }, t("falsified")));
          } catch (error) {
            toast(error.detail || String(error), "error");
          }
        } }, t("Mark falsified"))),
      thread, comment);
  }, { emptyText: t("No reports this week.") }));
}

function taskCard(team) {
  const taskForm = form({ "aria-label": t("Assign a task") },
    field("assignee_id", t("To"), {}, select("assignee_id", team.map((u) => [u.id, u.display_name || u.login]))),
    field("title", t("Task")),
    field("description", t("Details"), {}, h("textarea", { name: "description", rows: 2 })),
    field("due_at", t("Due"), { type: "datetime-local" }),
    h("button", { type: "submit" }, t("Assign")));
  onSubmit(taskForm, async (data, element) => {
    await post("/v1/tasks", { ...data, due_at: data.due_at ? new Date(data.due_at).toISOString() : undefined });
    toast(t("Task assigned."));
    element.reset();
  });
  return card(t("Assign a task"), taskForm);
}

function calendarCard(ctx, names) {
  const body = h("div", {}, h("p", { class: "loading" }, t("Loading…")));
  const from = new Date();
  const to = new Date(from.getTime() + 7 * 86400_000);
  get("/v1/calendar", { from: from.toISOString(), to: to.toISOString(), unit_id: ctx.me.unit_id }).then((reply) => {
    const items = (reply.items || []).sort((a, b) => String(a.start).localeCompare(String(b.start)));
    replace(body, items.length ? h("ul", { class: "list" }, items.map((e) => h("li", {},
      h("span", { class: "muted" }, dateTime(e.start)), " ", h("strong", {}, names.get(e.owner_id) || ""), " ",
      e.busy_only ? h("span", { class: "tag" }, t("busy")) : e.title))) : empty(t("Nothing planned this week.")));
  }).catch((error) => replace(body, failure(error)));
  return card(t("Team calendar, next 7 days"), body);
}

/** The parent target and one amount per rep; the sum is checked as the amounts are typed. */
function targetsCard(ctx, team) {
  const reps = team.filter((u) => (u.roles || []).includes("rep"));
  const check = h("p", { role: "status", "data-testid": "target-sum" });
  const editor = form({ "aria-label": t("Split a target") },
    field("metric", t("Metric"), {}, select("metric", ["contract_amount", "collected_revenue", "new_customers", "visits"]
      .map((m) => [m, t(`metric:${m}`)]))),
    field("period", t("Period"), { value: branchMonth(), placeholder: "2026-07, 2026-Q3, 2026" }),
    field("amount", t("Team target"), { type: "number", min: "0", step: "any", dataset: { parent: "yes" } }),
    reps.map((u) => field(`rep:${u.id}`, u.display_name || u.login, { type: "number", min: "0", step: "any", dataset: { rep: u.id } })),
    check, h("button", { type: "submit" }, t("Save targets")));
  const sum = () => {
    const parent = Number(editor.querySelector("[data-parent]").value || 0);
    const children = [...editor.querySelectorAll("[data-rep]")].reduce((total, i) => total + Number(i.value || 0), 0);
    check.className = Math.abs(parent - children) < 0.005 ? "ok" : "warn";
    check.textContent = t("Reps add up to {sum}; difference {diff}", { sum: money(children), diff: money(parent - children) });
  };
  editor.addEventListener("input", sum);
  onSubmit(editor, async (data) => {
    const goal = { metric: data.metric, period: data.period || "", org_path: ctx.unit?.path || ctx.me.org_path,
      currency: ["contract_amount", "collected_revenue"].includes(data.metric) ? branchCurrency() : "" };
    const children = reps.filter((u) => data[`rep:${u.id}`]).map((u) => ({ ...goal, rep_id: u.id, amount: data[`rep:${u.id}`] }));
    await post("/v1/targets", { parent: { ...goal, amount: data.amount || "" }, children, mode: "reject" });
    toast(t("Targets saved."));
  });
  sum();
  return card(t("Split a target"), reps.length ? editor : empty(t("No reps in your team.")));
}
