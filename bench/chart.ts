/** A horizontal bar chart as a standalone SVG (no dependencies), for the README. */
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
