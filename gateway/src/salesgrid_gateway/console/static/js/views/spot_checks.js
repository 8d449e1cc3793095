// Spot checks of follow-ups (每周抽查, /v1/spot-checks): the sales administrator's queue of the
// week's sampled follow-ups, each found true or false (a note required when false, and the unit's
// fine applies); managers see the spot checks of their reps and the falsification ledger (虚报,
// /v1/falsification-ledger) with each rep's count and fines.
import { get, post } from "../api.js";
import { dateTime, money, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, replace, toast } from "../ui.js";

export const visible = (ctx) => ctx.can("spot_checks:verify") || ctx.wide("activities:read");
const verdictLabel = (v) => ({ pending: t("to verify"), true: t("true"), false: t("false (虚报)") })[v] || v;

export async function render(main, ctx) {
  const verifying = ctx.can("spot_checks:verify");
  const managing = ctx.wide("activities:read");
  const [queue, checks, ledger, users] = await Promise.all([
    verifying ? get("/v1/spot-checks", { mine: "true", verdict: "pending", limit: 100 }) : { items: [] },
    managing ? get("/v1/spot-checks", { limit: 100 }) : { items: [] },
    managing ? get("/v1/falsification-ledger").catch(() => null) : null,
    get("/v1/users", { limit: 500 }).catch(() => ({ items: [] })),
  ]);
  const names = new Map((users.items || []).map((u) => [u.id, u.display_name || u.login]));
  // The sampled follow-ups themselves, one call per rep, all at once.
  const reps = [...new Set((queue.items || []).map((c) => c.rep_id))];
  const lists = await Promise.all(reps.map((rep) => get("/v1/follow-ups", { owner_id: rep, limit: 200 }).catch(() => ({ items: [] }))));
  const followUps = new Map(lists.flatMap((l) => l.items || []).map((f) => [f.id, f]));
  const redraw = () => render(main, ctx);
  replace(main, h("h1", {}, t("Spot checks")),
    verifying ? card(t("To verify"), (queue.items || []).length
      ? h("ul", { class: "list", "data-testid": "spot-check-queue" }, queue.items.map((c) => verifyItem(c, followUps.get(c.follow_up_id), names, redraw)))
      : empty(t("Nothing to verify."))) : null,
    ledger ? card(t("Falsification ledger"), (ledger.reps || []).length
      ? h("div", { "data-testid": "ledger" },
        h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("Rep")), h("th", {}, t("Falsifications")), h("th", {}, t("Fines")))),
          h("tbody", {}, ledger.reps.map((r) => h("tr", {}, h("td", {}, names.get(r.rep_id) || r.rep_id), h("td", {}, String(r.count)),
            h("td", {}, money(r.total, r.currency, 2)))))),
        h("ul", { class: "list" }, (ledger.entries || []).map((e) => h("li", {}, names.get(e.rep_id) || e.rep_id, " ",
          h("span", { class: "tag warn" }, e.kind === "follow_up" ? t("Follow-up") : t("Daily report")), " ",
          dateTime(e.found_at), " ", money(e.fine, e.currency, 2)))))
      : empty(t("No falsification found."))) : null,
    managing ? card(t("Spot checks of your reps"), (checks.items || []).length
      ? h("ul", { class: "list" }, checks.items.map((c) => h("li", {}, c.week, " ", names.get(c.rep_id) || c.rep_id, " ",
        h("span", { class: c.verdict === "false" ? "tag warn" : "tag" }, verdictLabel(c.verdict)), c.note ? ` — ${c.note}` : "")))
      : empty(t("No spot checks yet."))) : null);
}

function verifyItem(check, followUp, names, done) {
  const verdict = form({ class: "inline", "aria-label": t("Verdict on the follow-up of {rep}", { rep: names.get(check.rep_id) || check.rep_id }) },
    field("note", t("Note (required when false)")),
    h("div", { class: "actions" },
      h("button", { type: "submit", value: "true" }, t("True")),
      h("button", { type: "submit", value: "false", class: "danger" }, t("False"))));
  verdict.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => (verdict.dataset.verdict = b.value)));
  onSubmit(verdict, async (data) => {
    await post(`/v1/spot-checks/${encodeURIComponent(check.id)}/verdict`, { verdict: verdict.dataset.verdict || "true", note: data.note || "" });
    toast(t("Verdict recorded."));
    await done();
  });
  return h("li", { dataset: { id: check.id } }, h("strong", {}, check.week), " ", names.get(check.rep_id) || check.rep_id, " ",
    followUp ? [h("span", { class: "tag" }, t(`kind:${followUp.kind}`)), " ", h("span", { class: "muted" }, dateTime(followUp.occurred_at)),
      h("p", {}, followUp.notes)] : h("span", { class: "muted" }, check.follow_up_id), verdict);
}
