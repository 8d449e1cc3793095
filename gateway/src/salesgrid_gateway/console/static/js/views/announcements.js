// Announcements (新闻公告) on the Today page: the caller's unread ones (/v1/announcements?mine=true),
// newest first; reading one marks it read (POST /v1/announcements/{id}/read), which is the
// publisher's read receipt.
import { post } from "../api.js";
import { dateTime, t } from "../i18n.js";
import { card, empty, failure, h, replace, toast } from "../ui.js";

export function announcementsCard(settled) {
  const heading = t("Announcements");
  if (settled.error) return card(heading, failure(settled.error));
  let items = (settled.value?.items || []).filter((a) => !a.read);
  const body = h("div", { "data-testid": "announcements" });
  const draw = () => replace(body, items.length
    ? h("ul", { class: "list" }, items.map((a) => h("li", { dataset: { id: a.id } },
      h("strong", {}, a.title), " ", h("span", { class: "muted" }, dateTime(a.published_at)),
      h("p", {}, a.body),
      h("button", { type: "button", class: "small secondary", "aria-label": t("Mark read: {title}", { title: a.title }),
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            await post(`/v1/announcements/${encodeURIComponent(a.id)}/read`, {});
            items = items.filter((x) => x.id !== a.id);
            draw();
          } catch (error) {
            event.target.disabled = false;
            toast(error.detail || String(error), "error");
          }
        } }, t("Mark read")))))
    : empty(t("No new announcements.")));
  draw();
  return card(heading, body);
}
