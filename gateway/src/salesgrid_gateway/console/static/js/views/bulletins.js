// Announcements (新闻公告, /v1/announcements): everyone reads those addressed to him (reading one is
// his read receipt); managers and administrators (announcements:publish) publish to a unit and its
// subtree and see, for each of theirs, who has read it.
import { get, post } from "../api.js";
import { dateTime, t } from "../i18n.js";
import { card, empty, field, form, h, onSubmit, pagedList, replace, select, toast } from "../ui.js";

export async function render(main, ctx) {
  const publishing = ctx.can("announcements:publish");
  const [units, users] = await Promise.all([
    publishing ? get("/v1/org-units").then((r) => r.items || []).catch(() => []) : [],
    publishing ? get("/v1/users", { limit: 500 }).then((r) => r.items || []).catch(() => []) : [],
  ]);
  const names = new Map(users.map((u) => [u.id, u.display_name || u.login]));
  const mine = pagedList((cursor) => get("/v1/announcements", { mine: "true", cursor, limit: 20 }), (a) => readItem(a),
    { emptyText: t("No announcements for you yet.") });
  replace(main, h("h1", {}, t("Announcements")),
    h("div", { class: "grid wide-first" },
      card(t("For you"), h("div", { "data-testid": "my-announcements" }, mine)),
      publishing ? h("div", { class: "stack" }, publishCard(main, ctx, units),
        card(t("Published"), h("div", { "data-testid": "published" }, pagedList(
          (cursor) => get("/v1/announcements", { cursor, limit: 20 }), (a) => publishedItem(a, names),
          { emptyText: t("Nothing published yet.") })))) : null));
}

function readItem(a) {
  const mark = a.read ? null : h("button", { type: "button", class: "small secondary",
    "aria-label": t("Mark read: {title}", { title: a.title }), onclick: async () => {
      mark.disabled = true;
      try {
        await post(`/v1/announcements/${encodeURIComponent(a.id)}/read`, {});
        mark.replaceWith(h("span", { class: "tag" }, t("read")));
      } catch (error) {
        mark.disabled = false;
        toast(error.detail || String(error), "error");
      }
    } }, t("Mark read"));
  return h("li", { dataset: { id: a.id } }, h("strong", {}, a.title), " ", h("span", { class: "muted" }, dateTime(a.published_at)),
    h("p", {}, a.body), a.read ? h("span", { class: "tag" }, t("read")) : mark);
}

function publishCard(main, ctx, units) {
  const publish = form({ "aria-label": t("Publish an announcement") },
    field("unit_id", t("To unit (and its subtree)"), {}, select("unit_id", units.map((u) => [u.id, u.name]))),
    field("title", t("Title"), { required: true }),
    field("body", t("Text"), {}, h("textarea", { name: "body", rows: 4 })),
    h("button", { type: "submit" }, t("Publish")));
  const own = publish.querySelector('[name="unit_id"]');
  if (units.some((u) => u.id === ctx.me.unit_id)) own.value = ctx.me.unit_id;
  onSubmit(publish, async (data) => {
    const sent = await post("/v1/announcements", { unit_id: data.unit_id || "", title: data.title || "", body: data.body || "" });
    toast(t("Published to {n} people.", { n: sent.recipients }));
    await render(main, ctx);
  });
  return card(t("Publish an announcement"), publish);
}

function publishedItem(a, names) {
  const receipts = h("div", { class: "receipts" });
  const show = h("button", { type: "button", class: "small secondary", onclick: async () => {
    show.disabled = true;
    try {
      const r = await get(`/v1/announcements/${encodeURIComponent(a.id)}/receipts`);
      replace(receipts, h("ul", { class: "list", "data-testid": "receipts" }, (r.receipts || []).map((x) => h("li", {},
        names.get(x.user_id) || x.user_id, " ",
        x.read ? h("span", { class: "tag" }, t("read {when}", { when: dateTime(x.read_at) })) : h("span", { class: "tag warn" }, t("unread"))))));
    } catch (error) {
      toast(error.detail || String(error), "error");
    } finally {
      show.disabled = false;
    }
  } }, t("Who has read it"));
  return h("li", { dataset: { id: a.id } }, h("strong", {}, a.title), " ", h("span", { class: "muted" }, dateTime(a.published_at)), " ",
    h("span", { class: "tag" }, t("{read} of {n} read", { read: a.read_count || 0, n: a.recipients || 0 })), " ", show, receipts);
}
