// Export jobs (/v1/exports): the file holds exactly what the caller may read. The job runs on the
// server; the console shows its progress (rows written) until the file is ready, then downloads it.
import { api, get, post } from "../api.js";
import { number, t } from "../i18n.js";
import { card, field, form, h, onSubmit, select } from "../ui.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Save a ready export through the API (with the caller's token), as the file the job named. */
async function save(job) {
  const response = await api("GET", job.file, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: job.filename || "export", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A card that exports `entity` (customers, leads, opportunities, ...) as CSV or XLSX. */
export function exportCard(entity, heading) {
  const progress = h("progress", { hidden: true, "aria-label": t("Export progress") });
  const status = h("p", { role: "status", "data-testid": `export-status-${entity}` });
  const exportForm = form({ "aria-label": heading },
    field("format", t("Format"), {}, select("format", [["csv", "CSV"], ["xlsx", "Excel (XLSX)"]])),
    h("button", { type: "submit" }, t("Export")), progress, status);
  onSubmit(exportForm, async (data) => {
    let job = await post("/v1/exports", { entity, format: data.format || "csv" });
    progress.hidden = false;
    progress.removeAttribute("value"); // indeterminate: the total is known only at the end
    while (["queued", "running"].includes(job.status)) {
      status.textContent = t("Exporting: {n} rows written…", { n: number(job.rows_written || 0) });
      await sleep(700);
      job = await get(`/v1/exports/${encodeURIComponent(job.id)}`);
    }
    progress.hidden = true;
    if (job.status !== "ready") {
      status.textContent = t("The export failed: {why}", { why: job.error || job.status });
      return;
    }
    status.textContent = t("{n} rows exported to {file}.", { n: number(job.rows_written || 0), file: job.filename || "" });
    await save(job);
  });
  return card(heading, exportForm);
}
