// The console shell: session start, the caller from /v1/me, navigation by permission, hash routing.
import { Offline, currentSession, get, logout } from "./api.js";
import { LOCALES, currentLocale, setBranch, setLocale, t } from "./i18n.js";
import { flush, onChange, pending } from "./queue.js";
import { failure, h, replace } from "./ui.js";
import * as adminView from "./views/admin.js";
import * as approvalsView from "./views/approvals.js";
import * as boardView from "./views/board.js";
import * as bulletinsView from "./views/bulletins.js";
import * as channelsView from "./views/channels.js";
import * as customersView from "./views/customers.js";
import * as dashboardView from "./views/dashboard.js";
import * as expensesView from "./views/expenses.js";
import * as inboxView from "./views/inbox.js";
import * as spotChecksView from "./views/spot_checks.js";
import * as teamView from "./views/team.js";
import { renderLogin, renderPasswordChange } from "./views/login.js";
import * as todayView from "./views/today.js";

const root = document.getElementById("app");

/** Routes in menu order; `show` decides from the caller's permissions whether he sees it; `more`
 * ones go under the "More" menu when the caller sees more than MENU_INLINE screens. */
const ROUTES = [
  { path: "today", label: "Today", view: todayView, show: (c) => c.can("activities:create") },
  { path: "inbox", label: "Inbox", view: inboxView, show: () => true },
  { path: "customers", label: "Customers", view: customersView, show: (c) => c.can("customers:read") },
  { path: "board", label: "Opportunities", view: boardView, show: (c) => c.can("opportunities:read") },
  { path: "dashboard", label: "Dashboard", view: dashboardView, show: (c) => c.wide("analytics:read") },
  { path: "team", label: "Team", view: teamView, show: (c) => teamView.visible(c) },
  { path: "channels", label: "Channels", view: channelsView, show: (c) => channelsView.visible(c), more: true },
  { path: "expenses", label: "Expenses", view: expensesView, show: (c) => expensesView.visible(c) },
  { path: "approvals", label: "Approvals", view: approvalsView, show: (c) => approvalsView.visible(c) },
  { path: "announcements", label: "Announcements", view: bulletinsView, show: () => true, more: true },
  { path: "spot-checks", label: "Spot checks", view: spotChecksView, show: (c) => spotChecksView.visible(c), more: true },
  { path: "admin", label: "Administration", view: adminView, show: (c) => adminView.visible(c) },
];

const MENU_INLINE = 7;
let context = null;
const ME_KEY = "salesgrid.me";

function cached(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function makeContext(me, unit) {
  const permissions = new Map((me.permissions || []).map((p) => [p.name, p.scope]));
  return {
    me,
    unit,
    can: (name) => permissions.has(name),
    wide: (name) => permissions.has(name) && permissions.get(name) !== "own",
    scope: (name) => permissions.get(name) || "",
  };
}

async function start() {
  if (!currentSession()) return renderLogin(root, start);
  if (currentSession().password_change_required) return renderPasswordChange(root, start);
  let me;
  try {
    me = await get("/v1/me");
    // The server's word on the first password change, whatever this device remembers of it.
    if (me.password_change_required) return renderPasswordChange(root, start);
    localStorage.setItem(ME_KEY, JSON.stringify(me));
  } catch (error) {
    if (!currentSession()) return renderLogin(root, start);
    if (error?.code === "PASSWORD_CHANGE_REQUIRED") return renderPasswordChange(root, start);
    // Without network the console opens with the caller as last seen, so field work can be queued.
    me = error instanceof Offline ? cached(ME_KEY) : null;
    if (!me) {
      replace(root, failure(error));
      if (error instanceof Offline) setTimeout(start, 5000);
      return;
    }
  }
  // The branch (zone, currency) rarely changes: a cached copy lets the screen load at once, in
  // parallel with a fresh read (no third round trip before the first screen).
  const cacheKey = `salesgrid.unit.${me.unit_id}`;
  const fresh = get(`/v1/org-units/${encodeURIComponent(me.unit_id)}`).then((u) => {
    localStorage.setItem(cacheKey, JSON.stringify(u));
    setBranch(u);
    return u;
  }).catch(() => null);
  const unit = cached(cacheKey) || await fresh;
  setBranch(unit);
  context = makeContext(me, unit);
  renderShell();
  route();
  flush();
}

function queueBadge() {
  const badge = h("a", { class: "queue-badge", href: "#/today", hidden: true, "data-testid": "queue-badge" });
  const update = (items) => {
    badge.hidden = !items.length;
    badge.textContent = t("{n} waiting to send", { n: items.length });
  };
  update(pending());
  onChange(update);
  return badge;
}

function renderShell() {
  const routes = ROUTES.filter((r) => r.show(context));
  const language = h("select", { "aria-label": t("Language"), class: "language", name: "language" },
    LOCALES.map((code) => h("option", { value: code, selected: code === currentLocale() }, code === "en" ? "English" : "简体中文")));
  language.addEventListener("change", () => {
    setLocale(language.value);
    renderShell();
    route();
  });
  const link = (r) => h("li", {}, h("a", { href: `#/${r.path}`, dataset: { route: r.path } }, t(r.label)));
  const grouped = routes.length > MENU_INLINE;
  const inline = grouped ? routes.filter((r) => !r.more) : routes;
  const secondary = grouped ? routes.filter((r) => r.more) : [];
  const nav = h("nav", { "aria-label": t("Main") }, h("ul", {}, inline.map(link),
    secondary.length ? moreMenu(secondary.map(link)) : null));
  const out = h("button", { type: "button", class: "link", onclick: async () => {
    await logout();
    context = null;
    location.hash = "";
    start();
  } }, t("Log out"));
  replace(root,
    h("header", { class: "topbar" },
      h("a", { class: "brand", href: "#/" }, "Salesgrid"),
      nav,
      h("div", { class: "who" }, queueBadge(), language,
        h("span", { class: "user", title: context.me.login }, context.me.display_name || context.me.login), out)),
    h("main", { id: "main", tabindex: "-1" }));
}

/** A disclosure menu for the secondary screens: a button (aria-expanded) opening a list of links;
 * Escape or a click elsewhere closes it (Escape gives the focus back to the button). */
function moreMenu(items) {
  const list = h("ul", { id: "more-menu", class: "menu", hidden: true }, items);
  const button = h("button", { type: "button", class: "menu-button", "aria-expanded": "false", "aria-controls": "more-menu" }, t("More"));
  const toggle = (open) => {
    list.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => toggle(list.hidden));
  const item = h("li", { class: "more" }, button, list);
  item.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || list.hidden) return;
    toggle(false);
    button.focus();
  });
  item.addEventListener("focusout", (event) => {
    if (!item.contains(event.relatedTarget)) toggle(false);
  });
  const outside = (event) => {
    if (!item.isConnected) return document.removeEventListener("click", outside); // a shell drawn again
    if (!item.contains(event.target) || event.target.closest("a")) toggle(false);
  };
  document.addEventListener("click", outside);
  return item;
}

async function route() {
  if (!context) return;
  const [path, ...rest] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
  const routes = ROUTES.filter((r) => r.show(context));
  const found = routes.find((r) => r.path === path) || routes[0];
  const main = document.getElementById("main");
  if (!found) {
    replace(main, h("p", {}, t("Your account has no permission for any screen of the console.")));
    return;
  }
  document.querySelectorAll("nav a").forEach((a) => a.toggleAttribute("aria-current", a.dataset.route === found.path));
  document.querySelector("nav .menu-button")?.classList.toggle("current", Boolean(document.querySelector(".menu a[aria-current]")));
  document.title = `${t(found.label)} · Salesgrid`;
  // Each visit renders into its own container: a slower earlier screen that finishes late writes
  // into a detached one and never over the screen asked for last.
  const view = h("div", { class: "view" }, h("p", { class: "loading" }, t("Loading…")));
  replace(main, view);
  try {
    await found.view.render(view, context, rest.map(decodeURIComponent));
    // The screen is drawn with its data: a mark the browser tests (and any real-user timing) read.
    performance.mark("sg:screen", { detail: found.path });
    // Focus lost with the previous screen (after login, after a navigation) goes to the content, so
    // the keyboard and screen readers continue there; a fresh page starts at the top (skip link).
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && performance.getEntriesByName("sg:screen").length > 1) main.focus({ preventScroll: true });
  } catch (error) {
    replace(view, failure(error));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("sg:password", () => {
  context = null;
  renderPasswordChange(root, start);
});
window.addEventListener("sg:expired", () => {
  context = null;
  renderLogin(root, start, t("Your session has expired. Please log in again."));
});
start();

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/console/sw.js", { scope: "/console/" }).catch(() => {});
