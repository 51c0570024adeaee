/**
 * Where the share of the encoder-only limit goes, from the server's own counters over a phase
 * at the load it held. Held at saturation, windows arrive at `held / STEP_MS` and each costs the
 * served encoder time, so held = busy · STEP_MS / served, while the limit is STEP_MS / alone.
 * Hence share = busy × (alone ÷ served): the fraction of the time the device runs a batch, times
 * how fast a window encodes in the server against the encoder alone. The first is the
 * scheduler's (gaps between batches, the decoder's part); the second the machine's (other work
 * on the same cores slowing the encoder's threads, smaller batches). With several inference
 * lanes both are per lane: each lane's busy time, and a lane's window against a lane alone
 * while the others encode too (bench/encoder_limit.ts with LANES).
 */

/** The counters read before and after the phase (Prometheus names, unlabelled). */
export const SERVED_COST_METRICS = [
  "parakeet_inference_seconds_total",
  "parakeet_encoder_seconds_sum",
  "parakeet_decoder_seconds_sum",
  "parakeet_batch_windows_sum",
  "parakeet_batch_windows_count",
] as const;

export type ServedCostSample = Record<(typeof SERVED_COST_METRICS)[number], number>;

/**
 * The unlabelled samples of `names` in a Prometheus text exposition; throws when one is
 * missing, so a renamed metric fails the benchmark instead of reading as zero.
 */
export function readCounters(text: string): ServedCostSample {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    if (space < 0) continue;
    const name = line.slice(0, space).trim();
    if ((SERVED_COST_METRICS as readonly string[]).includes(name)) {
      found.set(name, Number(line.slice(space + 1)));
    }
  }
  const out = {} as ServedCostSample;
  for (const name of SERVED_COST_METRICS) {
    const v = found.get(name);
    if (v === undefined || !Number.isFinite(v)) {
      throw new Error(`metrics: ${name} is missing or not a number`);
    }
    out[name] = v;
  }
  return out;
}

export interface ServedCost {
  /** Wall time between the two readings, s. */
  wall_s: number;
  windows: number;
  batches: number;
  /** Encoder ms per window in the server (the batch assembly around the call included). */
  encoder_ms_per_window: number;
  /** Decoder ms per window. */
  decoder_ms_per_window: number;
  /** Encoder plus decoder time over the wall time, percent (per lane: the lanes' mean). */
  inference_busy_pct: number;
}

export function servedCost(
  before: ServedCostSample,
  after: ServedCostSample,
  wallMs: number,
  /** Inference lanes: the counters add every lane's time, the busy share is per lane. */
  lanes = 1,
): ServedCost {
  const d = (k: keyof ServedCostSample) => after[k] - before[k];
  const windows = d("parakeet_batch_windows_sum");
  if (!(Number.isInteger(lanes) && lanes >= 1)) {
    throw new RangeError(`lanes must be a whole number ≥ 1, got ${lanes}`);
  }
  if (!(wallMs > 0 && windows > 0)) {
    throw new RangeError(`no windows were served in the phase (${windows} in ${wallMs} ms)`);
  }
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    wall_s: r2(wallMs / 1000),
    windows,
    batches: d("parakeet_batch_windows_count"),
    encoder_ms_per_window: r2(1000 * d("parakeet_encoder_seconds_sum") / windows),
    decoder_ms_per_window: r2(1000 * d("parakeet_decoder_seconds_sum") / windows),
    inference_busy_pct: Math.round(
      1000 * 1000 * d("parakeet_inference_seconds_total") / wallMs / lanes,
    ) / 10,
  };
}

export interface ShareParts {
  /** The device's busy time, percent (the scheduler's part). */
  busy_pct: number;
  /** Encoder ms per window alone over in the server, percent (the machine's part). */
  encoder_speed_pct: number;
  /** Their product: the share the two predict, percent. */
  predicted_share_pct: number;
}

/** The share split into its two factors; `aloneMsPerWindow` from the encoder-only limit. */
export function shareParts(aloneMsPerWindow: number, served: ServedCost): ShareParts {
  if (!(aloneMsPerWindow > 0 && served.encoder_ms_per_window > 0)) {
    throw new RangeError("the share's parts need both encoder costs above 0");
  }
  const speed = aloneMsPerWindow / served.encoder_ms_per_window;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    busy_pct: served.inference_busy_pct,
    encoder_speed_pct: r1(100 * speed),
    predicted_share_pct: r1(served.inference_busy_pct * speed),
  };
}
