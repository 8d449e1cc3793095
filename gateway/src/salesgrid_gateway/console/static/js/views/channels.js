// Sales channels (销售渠道): the channel partners in the caller's scope (/v1/partners), an account
// made a partner (agent or distributor, with its partner tier and agreement; PUT
// /v1/customers/{id}/partner-profile with If-Match), and the channel and partner performance of the
// month (/v1/analytics/channels?by=channel|partner: contract amount, collections, win rate).
import { api, get } from "../api.js";
import { branchMonth, money, percent, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";

export const CHANNELS = ["direct", "agent", "distributor"];
export const TIERS = ["gold", "silver", "bronze"];
const channelLabel = (c) => ({ direct: t("Direct"), agent: t("Agent"), distributor: t("Distributor") })[c] || c;
const tierLabel = (x) => ({ gold: t("Gold"), silver: t("Silver"), bronze: t("Bronze") })[x] || x;

export const visible = (ctx) => ctx.can("customers:read");

export async function render(main, ctx) {
  const period = new URLSearchParams(location.hash.split("?")[1] || "").get("period") || branchMonth();
  const reporting = ctx.wide("analytics:read");
  const [byChannel, byPartner, customers] = await Promise.all([
    reporting ? get("/v1/analytics/channels", { by: "channel", period }).catch((e) => ({ error: e })) : null,
    reporting ? get("/v1/analytics/channels", { by: "partner", period }).catch((e) => ({ error: e })) : null,
    ctx.can("customers:update") ? get("/v1/customers", { limit: 100 }).then((r) => r.items || []).catch(() => []) : [],
  ]);
  const partners = pagedList((cursor) => get("/v1/partners", { cursor, limit: 20 }), (c) => h("li", { dataset: { id: c.id } },
    h("a", { href: `#/customers/${encodeURIComponent(c.id)}` }, c.legal_name), " ",
    h("span", { class: "tag" }, channelLabel(c.partner_channel)), " ", h("span", { class: "tag" }, tierLabel(c.partner_tier))),
  { emptyText: t("No channel partners yet.") });
  const partnerNames = new Map();
  replace(main, h("h1", {}, t("Channels"), " ", h("small", {}, period)),
    h("div", { class: "grid wide-first" },
      reporting ? card(t("Performance by channel"), report(byChannel, (line) => channelLabel(line.key))) : null,
      h("div", { class: "stack" },
        card(t("Channel partners"), h("div", { "data-testid": "partners" }, partners)),
        customers.length ? partnerCard(main, ctx, customers) : null),
      reporting ? card(t("Partner leaderboard"), report(byPartner, (line) => partnerNames.get(line.key) || line.key)) : null));
  // Partner names for the leaderboard (its keys are account ids), once the partners are known.
  if (reporting && byPartner && !byPartner.error && (byPartner.lines || []).length) {
    const known = await get("/v1/partners", { limit: 200 }).catch(() => ({ items: [] }));
    for (const c of known.items || []) partnerNames.set(c.id, c.legal_name);
    main.querySelectorAll("[data-key]").forEach((cell) => {
      if (partnerNames.has(cell.dataset.key)) cell.textContent = partnerNames.get(cell.dataset.key);
    });
  }
}

function report(reply, name) {
  if (!reply) return null;
  if (reply.error) return h("p", { class: "error" }, reply.error.detail || String(reply.error));
  if (!(reply.lines || []).length) return empty(t("No sales through this channel in the period."));
  return h("table", { "data-testid": `channels-${reply.by}` },
    h("thead", {}, h("tr", {}, [t("Rank"), t("Name"), t("Contract amount"), t("Collected"), t("Won"), t("Lost"), t("Win rate")]
      .map((x) => h("th", {}, x)))),
    h("tbody", {}, reply.lines.map((line) => h("tr", {}, h("td", {}, String(line.rank)),
      h("td", { dataset: { key: line.key } }, name(line)), h("td", {}, money(line.contract_amount, reply.currency)),
      h("td", {}, money(line.collected, reply.currency)), h("td", {}, String(line.won || 0)), h("td", {}, String(line.lost || 0)),
      h("td", {}, line.win_rate ? percent(line.win_rate) : "–")))));
}

function partnerCard(main, ctx, customers) {
  const profile = form({ "aria-label": t("Make an account a channel partner") },
    field("customer_id", t("Account"), {}, select("customer_id", customers.map((c) => [c.id, c.legal_name]))),
    field("channel", t("Channel"), {}, select("channel", [["agent", channelLabel("agent")], ["distributor", channelLabel("distributor")],
      ["", t("No longer a partner")]])),
    field("tier", t("Partner tier"), {}, select("tier", TIERS.map((x) => [x, tierLabel(x)]))),
    field("contract_id", t("Partner agreement (contract id, optional)")),
    h("button", { type: "submit" }, t("Save")));
  onSubmit(profile, async (data) => {
    const customer = await get(`/v1/customers/${encodeURIComponent(data.customer_id)}`);
    await api("PUT", `/v1/customers/${encodeURIComponent(data.customer_id)}/partner-profile`, {
      body: { channel: data.channel || "", tier: data.channel ? data.tier || "" : "", contract_id: data.contract_id || "" },
      headers: { "If-Match": `"${customer.version}"` } });
    toast(t("Saved."));
    await render(main, ctx);
  });
  return card(t("Make an account a channel partner"), profile);
}
