// The team dashboard of a supervisor, manager or director: funnel with conversion per stage,
// targets and attainment, leaderboard, forecast against target, daily-report compliance, gate
// violations and receivables ageing, all for his subtree, in one round trip; a rep drills down.
import { api, get } from "../api.js";
import { bars, columns } from "../charts.js";
import { branchMonth, dateTime, money, moneyShort, number, percent, t } from "../i18n.js";
import { card, empty, failure, h, replace, toast } from "../ui.js";

const METRICS = ["contract_amount", "collections", "new_customers", "follow_ups", "visits"];

export async function render(main, ctx, [view, id]) {
  const month = new URLSearchParams(location.hash.split("?")[1] || "").get("period") || branchMonth();
  const year = month.slice(0, 4);
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  const [dash, forecast, compliance, leaders, ageing, violations, users, models] = await Promise.all([
    settle(get("/v1/analytics/dashboard", { period: month })),
    settle(get("/v1/analytics/forecast", { period: year })),
    settle(get("/v1/analytics/compliance", { period: month })),
    settle(get("/v1/analytics/leaderboard", { period: month, by: "contract_amount", limit: 10 })),
    ctx.can("payments:read") ? settle(get("/v1/receivables/ageing")) : { value: { lines: [] } },
    settle(get("/v1/gate-violations", { limit: 10 })),
    settle(get("/v1/users", { limit: 500 })),
    settle(get("/v1/stage-models")),
  ]);
  const names = new Map((users.value?.items || []).map((u) => [u.id, u.display_name || u.login]));
  const who = (key) => names.get(key) || key;
  const currency = dash.value?.funnel?.currency || forecast.value?.currency;
  const periodPicker = h("input", { type: "month", value: month, "aria-label": t("Month") });
  periodPicker.addEventListener("change", () => { location.hash = `#/dashboard?period=${periodPicker.value}`; });
  const exportButton = ctx.can("analytics:export") ? h("button", { type: "button", class: "secondary", onclick: () =>
    download("/v1/exports", { report: "performance", format: "csv", period: month }, `performance-${month}.csv`) },
  t("Export CSV")) : null;
  replace(main,
    h("div", { class: "toolbar" }, h("h1", {}, t("Team dashboard")), periodPicker, exportButton),
    view === "rep" && id ? await repPanel(id, month, who(id)) : null,
    h("div", { class: "grid dashboard", "data-testid": "dashboard" },
      totalsCard(dash, currency),
      funnelCard(dash, models, currency),
      targetsCard(dash),
      leaderboardCard(leaders, who, month, currency),
      forecastCard(forecast),
      complianceCard(compliance, who),
      ageingCard(ageing),
      violationsCard(violations, who)));
}

function totalsCard(dash, currency) {
  if (dash.error) return card(t("This month"), failure(dash.error));
  const total = (dash.value.totals || [])[0] || {};
  return card(t("This month"), h("dl", { class: "kpis" },
    h("div", {}, h("dt", {}, t("Contract amount")), h("dd", {}, money(total.contract_amount || 0, currency))),
    h("div", {}, h("dt", {}, t("Collected")), h("dd", {}, money(total.collections || 0, currency))),
    h("div", {}, h("dt", {}, t("New customers")), h("dd", {}, number(total.new_customers || 0))),
    h("div", {}, h("dt", {}, t("Visits")), h("dd", {}, number(total.visits || 0))),
    h("div", {}, h("dt", {}, t("Report compliance")), h("dd", {}, total.report_compliance ? percent(total.report_compliance) : "–")),
    h("div", {}, h("dt", {}, t("Outstanding receivables")), h("dd", {}, money(total.receivables_outstanding || 0, currency)))));
}

function funnelCard(dash, models, currency) {
  if (dash.error) return card(t("Funnel"), failure(dash.error));
  const funnel = dash.value.funnel || {};
  const stageNames = new Map(((models.value?.items || [])[0]?.stages || []).map((s) => [s.code, s.name.split(" / ")]));
  const label = (code) => {
    const pair = stageNames.get(code);
    return pair ? (document.documentElement.lang === "zh-CN" ? pair[1] || pair[0] : pair[0]) : code;
  };
  const stages = funnel.stages || [];
  return card(t("Funnel"), h("p", { class: "muted" }, t("entered · amount · conversion to the next stage")),
    bars(stages.map((s) => ({ label: label(s.stage), value: s.entered,
      text: `${number(s.entered)} · ${moneyShort(s.amount, currency)}${s.conversion ? ` · ${percent(s.conversion)}` : ""}` })),
    { title: t("Funnel") }),
    h("p", { class: "muted" }, t("Won {won}, lost {lost}, win rate {rate}", {
      won: number(funnel.won || 0), lost: number(funnel.lost || 0), rate: funnel.win_rate ? percent(funnel.win_rate) : "–" })));
}

function targetsCard(dash) {
  if (dash.error) return card(t("Targets"), failure(dash.error));
  const targets = dash.value.targets || [];
  if (!targets.length) return card(t("Targets"), empty(t("No targets for this period.")));
  return card(t("Targets"), bars(targets.map((target) => ({
    label: t(`metric:${target.metric}`), value: Number(target.attainment || 0),
    className: Number(target.attainment || 0) >= 1 ? "good" : "",
    text: `${percent(target.attainment || 0)} · ${target.metric.includes("revenue") || target.metric.includes("amount")
      ? `${moneyShort(target.actual || 0, target.currency)} / ${moneyShort(target.amount, target.currency)}`
      : `${number(target.actual || 0)} / ${number(target.amount)}`}` })), { title: t("Targets") }));
}

function leaderboardCard(leaders, who, month, currency) {
  if (leaders.error) return card(t("Leaderboard"), failure(leaders.error));
  const entries = leaders.value.entries || [];
  if (!entries.length) return card(t("Leaderboard"), empty(t("No results yet.")));
  return card(t("Leaderboard"), h("ol", { class: "list leaderboard" }, entries.map((e) => h("li", {},
    h("a", { href: `#/dashboard/rep/${encodeURIComponent(e.key)}?period=${month}` }, who(e.key)), " ",
    h("span", { class: "muted" }, money(e.value, currency))))));
}

function forecastCard(forecast) {
  if (forecast.error) return card(t("Forecast against target"), failure(forecast.error));
  const months = forecast.value.months || [];
  const total = forecast.value.total || {};
  return card(t("Forecast against target"),
    columns(months.map((m) => ({ label: m.period.slice(5), a: m.forecast, b: m.target || 0 })),
      { title: t("Forecast against target"), legend: [t("Forecast"), t("Target")] }),
    h("p", { class: "muted" }, t("Year: won {won}, weighted pipeline {pipe}, target {target}", {
      won: money(total.won || 0, forecast.value.currency), pipe: money(total.weighted_pipeline || 0, forecast.value.currency),
      target: total.target ? money(total.target, forecast.value.currency) : "–" })));
}

function complianceCard(compliance, who) {
  if (compliance.error) return card(t("Daily-report compliance"), failure(compliance.error));
  const rows = compliance.value.rows || [];
  const total = compliance.value.total || {};
  return card(t("Daily-report compliance"),
    h("p", {}, t("On time {on}, late {late}, missing {missing}, falsified {falsified}", {
      on: total.on_time || 0, late: total.late || 0, missing: total.missing || 0, falsified: total.falsified || 0 })),
    rows.length ? bars(rows.map((r) => ({ label: who(r.key), value: Number(r.compliance || 0), text: r.compliance ? percent(r.compliance) : "–",
      className: Number(r.compliance || 0) < 0.8 ? "bad" : "good" })), { title: t("Daily-report compliance") }) : empty(t("No reports due yet.")));
}

function ageingCard(ageing) {
  if (ageing.error) return card(t("Receivables ageing"), failure(ageing.error));
  const buckets = [["not_due", t("not due")], ["days_1_30", "1–30"], ["days_31_60", "31–60"], ["days_61_90", "61–90"], ["over_90", "> 90"]];
  const lines = ageing.value.lines || [];
  if (!lines.length) return card(t("Receivables ageing"), empty(t("Nothing outstanding.")));
  return card(t("Receivables ageing"), lines.map((line) => bars(buckets.map(([key, label]) => ({
    label: key === "not_due" ? label : `${label} ${t("days")}`, value: Number(line[key] || 0), text: moneyShort(line[key] || 0, line.currency),
    className: key === "not_due" ? "good" : key === "over_90" ? "bad" : "" })), { title: `${t("Receivables ageing")} ${line.currency}` })));
}

function violationsCard(violations, who) {
  if (violations.error) return card(t("Gate violations"), failure(violations.error));
  const items = violations.value.items || [];
  if (!items.length) return card(t("Gate violations"), empty(t("No gate violations.")));
  return card(t("Gate violations"), h("ul", { class: "list" }, items.map((v) => h("li", {},
    h("strong", {}, who(v.owner_id)), " → ", v.target_stage, " ", h("span", { class: "muted" }, dateTime(v.at)),
    h("p", { class: "muted" }, t("missing: {facts}", { facts: (v.missing_facts || []).join(", ") || "–" }))))));
}

async function repPanel(repId, month, name) {
  try {
    const performance = await get("/v1/analytics/performance", { period: month, rep_id: repId });
    const row = (performance.rows || [])[0] || {};
    return card(t("{name} in {month}", { name, month }), h("dl", { class: "kpis", "data-testid": "rep-drilldown" },
      METRICS.map((metric) => h("div", {}, h("dt", {}, t(`metric:${metric}`)),
        h("dd", {}, metric === "contract_amount" || metric === "collections" ? money(row[metric] || 0, performance.currency) : number(row[metric] || 0))))));
  } catch (error) {
    return card(name, failure(error));
  }
}

/** An export needs the caller's token, so it is fetched and handed to the browser as a file. */
async function download(path, query, fileName) {
  try {
    const response = await api("GET", path, { query, raw: true });
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: fileName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    toast(error.detail || String(error), "error");
  }
}
