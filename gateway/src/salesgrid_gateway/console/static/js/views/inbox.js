// The caller's inbox (/v1/inbox), newest first and paged by the API's cursor: every notice, its
// title rendered in the reader's language (notices.js), a link to its record, mark read one by one
// or all at once.
import { get, post } from "../api.js";
import { dateTime, t } from "../i18n.js";
import { kindLabel, noticeLink, noticeTitle } from "../notices.js";
import { h, pagedList, toast } from "../ui.js";

export async function render(main) {
  const unreadOnly = new URLSearchParams(location.hash.split("?")[1] || "").get("unread") === "true";
  const list = pagedList((cursor) => get("/v1/inbox", { cursor, limit: 30, unread: unreadOnly ? "true" : "" }),
    (notice) => item(notice), { emptyText: t("Your inbox is empty.") });
  const all = h("button", { type: "button", class: "secondary", onclick: async () => {
    all.disabled = true;
    try {
      await post("/v1/inbox/read-all", {});
      await render(main);
    } catch (error) {
      all.disabled = false;
      toast(error.detail || String(error), "error");
    }
  } }, t("Mark all read"));
  main.replaceChildren(h("h1", {}, t("Inbox")),
    h("p", { class: "actions" }, all, " ",
      h("a", { href: unreadOnly ? "#/inbox" : "#/inbox?unread=true" }, unreadOnly ? t("Show all") : t("Unread only"))),
    h("section", { class: "card", "data-testid": "inbox" }, list));
}

function item(notice) {
  const text = noticeTitle(notice);
  const link = noticeLink(notice);
  const mark = notice.read ? null : h("button", { type: "button", class: "small secondary",
    "aria-label": t("Mark read: {title}", { title: text }), onclick: async () => {
      mark.disabled = true;
      try {
        await post(`/v1/inbox/${encodeURIComponent(notice.id)}/read`, {});
        row.classList.remove("unread");
        mark.remove();
      } catch (error) {
        mark.disabled = false;
        toast(error.detail || String(error), "error");
      }
    } }, t("Mark read"));
  const row = h("li", { class: notice.read ? "" : "unread", dataset: { kind: notice.kind, id: notice.id } },
    h("span", { class: "tag" }, kindLabel(notice.kind)), " ",
    link ? h("a", { href: link }, text) : h("span", {}, text), " ",
    h("span", { class: "muted" }, dateTime(notice.occurred_at)), " ", mark);
  return row;
}
