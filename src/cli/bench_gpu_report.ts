/**
 * The pieces of `bench gpu`'s report beside the measurement itself: the model described from its
 * config.json, the FLOP figures when the counts of the full-size encoder apply, and the table
 * printed for people.
 */
import { fileURLToPath } from "node:url";
import type { DeviceDescription } from "../bench/device_info.ts";
import type { EncoderLimit } from "../bench/encoder_limit.ts";
import { flopReport, gflopsPerWindow, readFlopCounts } from "../bench/flops.ts";

export function describeModel(dir: string, configFile: string, precision: string) {
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(Deno.readTextFileSync(configFile));
  } catch { /* ParakeetModel.load read it already */ }
  return {
    dir,
    precision,
    size: typeof raw.size === "string" ? raw.size : null,
    parameters: typeof raw.parameters === "number" ? raw.parameters : null,
  };
}

/** Where encoder-flops-full-*.json may be: this checkout's bench/results, and the cwd's. */
function flopDirs(): string[] {
  const dirs = [`${Deno.cwd()}/bench/results`];
  if (!Deno.build.standalone) {
    dirs.unshift(fileURLToPath(new URL("../../bench/results", import.meta.url)));
  }
  return dirs;
}

export function flopsFor(
  limit: EncoderLimit,
  size: string | null,
  forceFull: boolean,
  dev: DeviceDescription,
): { report: ReturnType<typeof flopReport> | null; note: string | null } {
  if (size !== "full" && !forceFull) {
    return {
      report: null,
      note: `no FLOP count: config.json says size ${
        JSON.stringify(size)
      }, and the counts are of the full-size encoder (--full-size for the published 0.6B export)`,
    };
  }
  const dirs = flopDirs();
  const perWindow = gflopsPerWindow(readFlopCounts(dirs), limit.window_ms);
  if (!perWindow) {
    return {
      report: null,
      note: `no FLOP count: no encoder-flops-full-*.json in ${
        dirs.join(" or ")
      } (bench/encoder_flops.py writes them)`,
    };
  }
  return {
    report: flopReport(perWindow, limit.step_ms, limit.rows, dev.kind === "cuda" ? dev.name : null),
    note: null,
  };
}

export function reportText(
  dev: DeviceDescription,
  limit: EncoderLimit,
  flops: ReturnType<typeof flopReport> | null,
  live: Record<string, unknown> | null,
): string {
  const devLine = dev.kind === "cpu"
    ? `device: cpu, ${dev.name}, ${dev.cores} cores`
    : `device: cuda, ${dev.name}${
      dev.gpus[0] ? `, ${dev.gpus[0].memory_total}, driver ${dev.gpus[0].driver_version}` : ""
    }`;
  const head = ["batch", "ms/call", "windows/s", "window s/s", "streams (encoder only)"];
  if (flops) head.push("TFLOP/s");
  const rows = limit.rows.map((r, i) => {
    const cells = [r.batch, r.ms_per_call, r.windows_per_s, r.window_audio_s_per_s, r.stream_limit]
      .map(String);
    if (flops) cells.push(String(flops.rows[i].achieved_tflops));
    return cells;
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join("  ");
  const lines = [
    devLine,
    `window: ${limit.window_ms} ms, step ${limit.step_ms} ms (recompute ×${limit.recompute_factor}), ${limit.reps} timed call(s) per batch`,
    fmt(head),
    ...rows.map(fmt),
  ];
  if (flops) {
    const p = flops.on_paper;
    lines.push(
      `${flops.gflops_per_window} GFLOP per window, ${flops.gflops_per_live_stream} GFLOP/s per live stream; best ${flops.best_achieved_tflops} TFLOP/s` +
        (p.gpu
          ? ` = ${
            Math.round(p.achieved_utilisation! * 1000) / 10
          }% of the ${p.gpu}'s ${p.tf32_dense_peak_tflops} TF32 TFLOP/s (docs/gpu.md assumes 30%: ${p.estimated_streams} streams)`
          : ""),
    );
  }
  if (live) {
    const ramp = live.ramp as { best_streams: number; target_ms: number; capped: boolean };
    lines.push(
      `live: ${ramp.best_streams} stream(s) held p95 ≤ ${ramp.target_ms} ms` +
        (ramp.capped ? " (the --max-streams cap; more may hold)" : ""),
    );
  }
  return lines.join("\n");
}
