/** A horizontal bar chart as a standalone SVG (no dependencies), for the docs and results pages. */
export interface Bar {
  label: string;
  value: number;
  note?: string;
}

export function barChartSvg(title: string, unit: string, bars: Bar[]): string {
  const w = 760, rowH = 34, left = 300, top = 44, right = 140;
  const h = top + bars.length * rowH + 24;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const rows = bars.map((b, i) => {
    const y = top + i * rowH;
    const len = ((w - left - right) * b.value) / max;
    return [
      `<text x="${left - 8}" y="${y + 20}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 6}" width="${len.toFixed(1)}" height="20" fill="#4a7bd0"/>`,
      `<text x="${left + len + 6}" y="${y + 20}">${b.value} ${esc(unit)}${
        b.note ? ` ${esc(b.note)}` : ""
      }</text>`,
    ].join("");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...rows,
    `</svg>`,
  ].join("\n") + "\n";
}

/** One line of a line chart: points (x, y) in data units. */
export interface Series {
  label: string;
  points: [number, number][];
}

const COLOURS = ["#4a7bd0", "#d0704a", "#3a9a5b", "#9a4ad0", "#a0a03a"];

/** A line chart with a legend as a standalone SVG: x and y from 0 to the largest value. */
export function lineChartSvg(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
): string {
  const w = 760, h = 380, left = 64, right = 24, top = 44, bottom = 56;
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...all.map((p) => p[0]));
  const yMax = Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (v: number) => left + (v / xMax) * (w - left - right);
  const y = (v: number) => top + (1 - v / yMax) * (h - top - bottom);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const ticks = (max: number) => Array.from({ length: 6 }, (_, i) => (max * i) / 5);
  const fmt = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${w - right}" y2="${y(0)}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}" stroke="#444"/>`,
    ...ticks(xMax).map((t) =>
      `<text x="${x(t).toFixed(1)}" y="${y(0) + 16}" text-anchor="middle">${fmt(t)}</text>`
    ),
    ...ticks(yMax).map((t) =>
      `<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>` +
      `<line x1="${left}" y1="${y(t).toFixed(1)}" x2="${w - right}" y2="${
        y(t).toFixed(1)
      }" stroke="#eee"/>`
    ),
    `<text x="${(left + w - right) / 2}" y="${h - 18}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${(top + y(0)) / 2}" transform="rotate(-90 16 ${
      (top + y(0)) / 2
    })" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const d = s.points.map((p, k) => `${k ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    parts.push(`<path d="${d.join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points) {
      parts.push(
        `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.5" fill="${colour}"/>`,
      );
    }
    const ly = top + 8 + i * 18;
    parts.push(
      `<rect x="${w - right - 330}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${w - right - 312}" y="${ly + 1}">${esc(s.label)}</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
