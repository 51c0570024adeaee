/**
 * Achieved FLOP/s of the encoder: the full-size encoder's GFLOP per window, counted from its
 * graph by bench/encoder_flops.py (bench/results/encoder-flops-full-*.json), times the windows
 * per second a benchmark measured; set beside the on-paper GPU estimate that sized deployments
 * before any GPU was measured: 160 GFLOP/s per live stream at the default knobs, an assumed 30%
 * of TF32 dense peak.
 */

export interface FlopCount {
  file: string;
  window_seconds: number;
  gflops_per_window: number;
  gflops_per_audio_second: number;
}

/** encoder-flops-full-*.json files in these directories (unreadable ones are skipped). */
export function readFlopCounts(dirs: readonly string[]): FlopCount[] {
  const out: FlopCount[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(dir)].map((e) => e.name)
        .filter((n) => /^encoder-flops-full-.*\.json$/.test(n)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const file = `${dir.replace(/\/+$/, "")}/${name}`;
      let real = file;
      try {
        real = Deno.realPathSync(file);
      } catch { /* as named */ }
      if (seen.has(real)) continue;
      seen.add(real);
      try {
        const j = JSON.parse(Deno.readTextFileSync(file));
        const w = Number(j.window_seconds), g = Number(j.gflops_per_window);
        if (w > 0 && g > 0) {
          out.push({
            file: real,
            window_seconds: w,
            gflops_per_window: g,
            gflops_per_audio_second: Number(j.gflops_per_audio_second) || g / w,
          });
        }
      } catch { /* not a count */ }
    }
  }
  return out;
}

/**
 * GFLOP of one window of `windowMs`: the count for exactly that window, else the nearest
 * window's GFLOP per second of audio times this window's length (the cost is close to linear in
 * the window: 16.0 GFLOP/s at 2.4 s, 16.3 at 10 s).
 */
export function gflopsPerWindow(
  counts: readonly FlopCount[],
  windowMs: number,
): { gflops: number; basis: string } | null {
  if (counts.length === 0) return null;
  const s = windowMs / 1000;
  const exact = counts.find((c) => Math.abs(c.window_seconds - s) < 1e-6);
  if (exact) {
    return {
      gflops: exact.gflops_per_window,
      basis: `counted for a ${s} s window (${exact.file})`,
    };
  }
  const nearest =
    [...counts].sort((a, b) => Math.abs(a.window_seconds - s) - Math.abs(b.window_seconds - s))[0];
  return {
    gflops: Math.round(nearest.gflops_per_audio_second * s * 100) / 100,
    basis:
      `${nearest.gflops_per_audio_second} GFLOP per audio second of the ${nearest.window_seconds} s count × ${s} s (${nearest.file})`,
  };
}

/** TF32 dense peaks the on-paper estimate used, matched on nvidia-smi's GPU name. */
const KNOWN_PEAKS: { match: RegExp; label: string; tf32DenseTflops: number }[] = [
  { match: /H100.*(HBM3|SXM)/i, label: "H100 SXM", tf32DenseTflops: 495 },
  { match: /\bL4\b/, label: "L4", tf32DenseTflops: 60 },
];

/** The on-paper estimate's assumption: 30% of TF32 dense peak sustained. */
export const ASSUMED_UTILISATION = 0.3;

export interface FlopReport {
  gflops_per_window: number;
  gflops_basis: string;
  /** What one live stream costs at these knobs: GFLOP per window ÷ step seconds. */
  gflops_per_live_stream: number;
  /** Per batch size: GFLOP per window × windows per second ÷ 1000. */
  rows: { batch: number; achieved_tflops: number }[];
  best_achieved_tflops: number;
  /** Streams at the best achieved rate (= the best encoder-only stream limit). */
  streams_at_best: number;
  on_paper: {
    basis: string;
    gpu: string | null;
    tf32_dense_peak_tflops: number | null;
    /** Best achieved ÷ peak, against the assumed 0.3. */
    achieved_utilisation: number | null;
    /** The on-paper figure for this GPU: peak × 0.3 ÷ GFLOP per live stream. */
    estimated_streams: number | null;
  };
}

export function flopReport(
  perWindow: { gflops: number; basis: string },
  stepMs: number,
  rows: readonly { batch: number; windows_per_s: number }[],
  deviceName: string | null,
): FlopReport {
  const perStream = perWindow.gflops / (stepMs / 1000);
  const achieved = rows.map((r) => ({
    batch: r.batch,
    achieved_tflops: round(perWindow.gflops * r.windows_per_s / 1000, 3),
  }));
  const best = Math.max(0, ...achieved.map((r) => r.achieved_tflops));
  const peak = deviceName === null ? undefined : KNOWN_PEAKS.find((p) => p.match.test(deviceName));
  return {
    gflops_per_window: perWindow.gflops,
    gflops_basis: perWindow.basis,
    gflops_per_live_stream: round(perStream, 1),
    rows: achieved,
    best_achieved_tflops: best,
    streams_at_best: round(best * 1000 / perStream, 1),
    on_paper: {
      basis:
        "160 GFLOP/s per live stream at the default knobs (38.5 GFLOP per 2.4 s window every 0.24 s); streams = sustained FLOP/s ÷ that, assuming 30% of TF32 dense peak",
      gpu: peak?.label ?? null,
      tf32_dense_peak_tflops: peak?.tf32DenseTflops ?? null,
      achieved_utilisation: peak ? round(best / peak.tf32DenseTflops, 3) : null,
      estimated_streams: peak
        ? Math.round(peak.tf32DenseTflops * ASSUMED_UTILISATION * 1000 / perStream)
        : null,
    },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
