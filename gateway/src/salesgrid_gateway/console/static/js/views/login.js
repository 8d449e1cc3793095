// Login, and the forced change of an initial password before anything else.
import { changePassword, login } from "../api.js";
import { LOCALES, currentLocale, setLocale, t } from "../i18n.js";
import { field, form, h, onSubmit, replace } from "../ui.js";

function languageSwitch(rerender) {
  const select = h("select", { "aria-label": t("Language"), class: "language", name: "language" },
    LOCALES.map((code) => h("option", { value: code, selected: code === currentLocale() }, code === "en" ? "English" : "简体中文")));
  select.addEventListener("change", () => {
    setLocale(select.value);
    rerender();
  });
  return select;
}

export function renderLogin(root, done, notice = "") {
  const loginForm = form({ class: "login", "aria-label": t("Log in") },
    field("login", t("Login"), { autocomplete: "username", required: true, autocapitalize: "none" }),
    field("password", t("Password"), { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, t("Log in")));
  onSubmit(loginForm, async (data) => {
    const pair = await login(data.login || "", data.password || "");
    if (pair.password_change_required) renderPasswordChange(root, done, data.password);
    else done();
  });
  replace(root, h("main", { class: "auth", id: "main" },
    h("div", { class: "auth-head" }, h("h1", {}, "Salesgrid"), languageSwitch(() => renderLogin(root, done, notice))),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    loginForm));
  loginForm.querySelector("input").focus();
  performance.mark("sg:screen", { detail: "login" });
}

export function renderPasswordChange(root, done, current = "") {
  const changeForm = form({ class: "login", "aria-label": t("Choose your password") },
    h("p", {}, t("Your password was set by an administrator. Choose your own before you continue.")),
    current ? null : field("current_password", t("Current password"), { type: "password", autocomplete: "current-password" }),
    field("new_password", t("New password"), { type: "password", autocomplete: "new-password" }),
    field("confirm_password", t("Repeat the new password"), { type: "password", autocomplete: "new-password" }),
    h("button", { type: "submit" }, t("Save password")));
  onSubmit(changeForm, async (data) => {
    if ((data.new_password || "") !== (data.confirm_password || "")) {
      const slot = changeForm.querySelector('.field-error[data-for="confirm_password"]');
      slot.textContent = t("The two passwords differ.");
      return;
    }
    await changePassword(current || data.current_password || "", data.new_password || "");
    done();
  });
  replace(root, h("main", { class: "auth", id: "main" }, h("h1", {}, "Salesgrid"), changeForm));
  changeForm.querySelector("input").focus();
}
