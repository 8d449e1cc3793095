// Documents printed by the system (收据必须通过系统打印; 合同采用公司统一文本): a contract rendered
// from the company's standard template and its receipts as numbered PDFs (POST …/print). The API
// marks every print after the first as a copy (副本 / COPY); the console says which one it got.
import { get } from "./api.js";
import { download } from "./files.js";
import { day, money, t } from "./i18n.js";
import { h, replace, toast } from "./ui.js";

const UNPRINTABLE = ["draft", "pending_approval", "rejected", "cancelled"];

function printed(result) {
  toast(result.copy > 0 ? t("{number} downloaded: a copy (副本), print {n}.", { number: result.number, n: result.copy + 1 })
    : t("{number} downloaded: the original.", { number: result.number }));
}

/** "Print contract" and "Receipts…" for a contract on the customer's 360 view. */
export function contractDocuments(contract, ctx) {
  if (UNPRINTABLE.includes(contract.status)) return null;
  const receipts = h("div", { class: "receipts" });
  const print = h("button", { type: "button", class: "small secondary", onclick: async () => {
    print.disabled = true;
    try {
      printed(await download(`/v1/contracts/${encodeURIComponent(contract.id)}/print`, `${contract.number || "contract"}.pdf`, {}));
    } catch (error) {
      toast(error.detail || String(error), "error");
    } finally {
      print.disabled = false;
    }
  } }, t("Print contract (PDF)"));
  const list = ctx.can("payments:read") ? h("button", { type: "button", class: "small secondary", onclick: async () => {
    list.disabled = true;
    try {
      const reply = await get("/v1/receipts", { contract_id: contract.id, limit: 50 });
      replace(receipts, (reply.items || []).length ? h("ul", { class: "list" }, reply.items.map((r) => receiptItem(r, ctx)))
        : h("p", { class: "muted" }, t("No receipts yet.")));
    } catch (error) {
      toast(error.detail || String(error), "error");
    } finally {
      list.disabled = false;
    }
  } }, t("Receipts…")) : null;
  return h("span", { class: "actions" }, print, list, receipts);
}

function receiptItem(receipt, ctx) {
  const payer = h("input", { name: "payer_name", "aria-label": t("Payer (交款人, first print only)"),
    placeholder: t("Payer (交款人, first print only)") });
  const print = h("button", { type: "button", class: "small secondary", disabled: !ctx.can("payments:create"), onclick: async () => {
    print.disabled = true;
    try {
      const body = payer.value.trim() ? { payer_name: payer.value.trim() } : {};
      printed(await download(`/v1/receipts/${encodeURIComponent(receipt.id)}/print`, "receipt.pdf", body));
    } catch (error) {
      toast(error.detail || String(error), "error");
    } finally {
      print.disabled = false;
    }
  } }, t("Print receipt (PDF)"));
  return h("li", { dataset: { id: receipt.id } }, day(receipt.received_on), " ", money(receipt.amount, receipt.currency, 2), " ",
    h("span", { class: "muted" }, receipt.reference || ""), " ", payer, " ", print);
}
