/**
 * An SVG of a soak run: RSS, open fds and step-latency p95 over time, one panel each, and V8's
 * young generation (the main isolate's new_space) when the run sampled it.
 */
import type { Sample } from "./soak.ts";

export function writeSoakPlot(samples: Sample[], path: string, title: string): void {
  const W = 720;
  const H = 160;
  const pad = 40;
  const panels: [string, (s: Sample) => number | null, string][] = [
    ["RSS (MiB)", (s) => s.rssMiB, "#1f77b4"],
    ["open fds", (s) => s.fds, "#2ca02c"],
    ["step latency p95 (ms)", (s) => s.stepP95Ms, "#d62728"],
  ];
  if (samples.some((s) => s.heapSpacesMiB?.new_space !== undefined)) {
    panels.push([
      "V8 young generation, main isolate (MiB)",
      (s) => s.heapSpacesMiB?.new_space ?? null,
      "#9467bd",
    ]);
  }
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const parts: string[] = [];
  panels.forEach(([label, get, color], i) => {
    const ys = samples.map(get).filter((v): v is number => v !== null && Number.isFinite(v));
    const yMax = Math.max(1, ...ys) * 1.1;
    const top = i * (H + 20) + 30;
    const pts = samples
      .map((s) => [s.t, get(s)] as const)
      .filter(([, v]) => v !== null && Number.isFinite(v))
      .map(([t, v]) =>
        `${(pad + (t / tMax) * (W - 2 * pad)).toFixed(1)},${(top + H - (v! / yMax) * H).toFixed(1)}`
      )
      .join(" ");
    parts.push(
      `<rect x="${pad}" y="${top}" width="${
        W - 2 * pad
      }" height="${H}" fill="none" stroke="#ccc"/>`,
      `<text x="${pad}" y="${top - 6}" font-size="12">${label} (max ${
        Math.round(yMax / 1.1)
      })</text>`,
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`,
    );
  });
  const height = panels.length * (H + 20) + 50;
  parts.push(
    `<text x="${W / 2}" y="${height - 8}" font-size="12" text-anchor="middle">seconds (0–${
      Math.round(tMax)
    })</text>`,
  );
  Deno.writeTextFileSync(
    path,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif">` +
      `<text x="${pad}" y="16" font-size="14">${title}</text>${parts.join("")}</svg>\n`,
  );
}
