// Small SVG charts (no library): horizontal bars and paired columns. Text stays real text, so
// screen readers and translations work; every chart has a title and a table-like description.
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/** rows: [{label, value, text}] → horizontal bars scaled to the largest value. */
export function bars(rows, { title = "", className = "" } = {}) {
  const height = 26 * rows.length + 6;
  const width = 440;
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(Number(r.value) || 0)));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: `chart ${className}`, "aria-label": title });
  chart.append(svg("title", {}, title));
  rows.forEach((row, index) => {
    const y = 4 + index * 26;
    const length = Math.max(1, (Math.abs(Number(row.value) || 0) / max) * 170);
    chart.append(
      svg("text", { x: 0, y: y + 15, class: "label" }, String(row.label).slice(0, 16)),
      svg("rect", { x: 125, y, width: length, height: 20, rx: 3, class: `bar ${row.className || ""}` }),
      svg("text", { x: 131 + length, y: y + 15, class: "value" }, row.text ?? String(row.value)));
  });
  return chart;
}

/** points: [{label, a, b}] → pairs of columns (e.g. forecast against target). */
export function columns(points, { title = "", legend = ["", ""] } = {}) {
  const width = 600;
  const height = 220;
  const max = Math.max(1e-9, ...points.flatMap((p) => [Number(p.a) || 0, Number(p.b) || 0]));
  const step = (width - 20) / Math.max(1, points.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 40}`, role: "img", class: "chart columns", "aria-label": title });
  chart.append(svg("title", {}, title));
  points.forEach((point, index) => {
    const x = 10 + index * step;
    const barWidth = Math.max(2, step / 2 - 4);
    const a = ((Number(point.a) || 0) / max) * height;
    const b = ((Number(point.b) || 0) / max) * height;
    chart.append(
      svg("rect", { x, y: height - a, width: barWidth, height: a, class: "bar a" }),
      svg("rect", { x: x + barWidth + 2, y: height - b, width: barWidth, height: b, class: "bar b" }),
      svg("text", { x: x + barWidth, y: height + 16, class: "tick", "text-anchor": "middle" }, point.label));
  });
  chart.append(
    svg("rect", { x: 10, y: height + 26, width: 10, height: 10, class: "bar a" }),
    svg("text", { x: 24, y: height + 35, class: "tick" }, legend[0]),
    svg("rect", { x: 160, y: height + 26, width: 10, height: 10, class: "bar b" }),
    svg("text", { x: 174, y: height + 35, class: "tick" }, legend[1]));
  return chart;
}
