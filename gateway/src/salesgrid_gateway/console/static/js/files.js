// Files through the API with the caller's token: a download saved under its name (receipts,
// printed contracts and receipts), read from the response's Content-Disposition when it names one.
import { api } from "./api.js";
import { h } from "./ui.js";

/** The file name a Content-Disposition header gives (RFC 6266: filename*=UTF-8''… first). */
export function dispositionName(header, fallback = "download") {
  const text = String(header || "");
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(text);
  if (encoded) {
    try {
      return decodeURIComponent(encoded[1].trim());
    } catch {
      return fallback;
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(text);
  return plain ? plain[1].trim() : fallback;
}

/** Fetch `path` (GET, or POST `body` when given) and save it as the browser's download. */
export async function download(path, fallback, body = undefined) {
  const response = await api(body === undefined ? "GET" : "POST", path, { raw: true, body });
  const name = dispositionName(response.headers.get("Content-Disposition"), fallback);
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  // A printed document's copy number: 0 is the original, a reprint is marked as a copy by the API.
  return { name, type: response.headers.get("Content-Type") || "", copy: Number(response.headers.get("X-Copy-Number") || 0),
    number: response.headers.get("X-Document-Number") || "" };
}
