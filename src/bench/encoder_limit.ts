/**
 * The encoder-only limit of streaming capacity: batched encoder calls on windows of the
 * streaming window's length (LEFT + STEP + RIGHT ms), timed per batch size. A stream at step C
 * with window L+C+R needs (L+C+R)/C seconds of encoder input per second of audio, so the streams
 * the encoder alone could hold are its window-audio throughput ÷ (L+C+R)/C. Shared by
 * bench/encoder_limit.ts and `parakeet-server bench gpu`.
 */
import type { ParakeetModel } from "../model/parakeet_model.ts";
import { framesInMs } from "../stream/frame_geometry.ts";

/** What the measurement needs of a model (a ParakeetModel, or a stand-in in tests). */
export type EncoderUnderTest = Pick<ParakeetModel, "featuresSize" | "encode"> & {
  config: { windowStride: number };
};

export interface EncoderLimitOptions {
  /** Window length in ms: LEFT_CONTEXT_MS + STEP_MS + RIGHT_CONTEXT_MS. */
  windowMs: number;
  stepMs: number;
  batches: readonly number[];
  /** Timed calls per batch size, after one untimed warm-up call. */
  reps: number;
  /** Called after each batch size is measured (for a progress line). */
  onRow?: (row: EncoderLimitRow) => void;
  /** Called after each batch size's warm-up call, right before its timed calls (lanes meet here). */
  beforeTimed?: (batch: number) => void;
  /** The clock, injectable for tests (ms). */
  now?: () => number;
}

export interface EncoderLimitRow {
  batch: number;
  /** Mean wall time of one batched encoder call, ms. */
  ms_per_call: number;
  /** Windows encoded per second (batch ÷ seconds per call). */
  windows_per_s: number;
  /** Seconds of window audio encoded per second. */
  window_audio_s_per_s: number;
  /** Streams the encoder alone could hold: window_audio_s_per_s ÷ recompute factor. */
  stream_limit: number;
}

export interface EncoderLimit {
  window_ms: number;
  step_ms: number;
  /** (L+C+R)/C: seconds of encoder input per second of streamed audio. */
  recompute_factor: number;
  /** Feature frames per window. */
  frames: number;
  reps: number;
  rows: EncoderLimitRow[];
}

export function measureEncoderLimit(
  model: EncoderUnderTest,
  opts: EncoderLimitOptions,
): EncoderLimit {
  const { windowMs, stepMs, reps } = opts;
  const now = opts.now ?? (() => performance.now());
  const frames = Math.round(framesInMs(windowMs, model.config));
  if (!(frames >= 1) || !(stepMs > 0) || !(reps >= 1)) {
    throw new RangeError(
      `encoder limit needs a window of at least one frame, a step > 0 and reps ≥ 1 (window ${windowMs} ms, step ${stepMs} ms, reps ${reps})`,
    );
  }
  const recompute = windowMs / stepMs;
  const rows: EncoderLimitRow[] = [];
  for (const batch of opts.batches) {
    const feats = new Float32Array(batch * model.featuresSize * frames).map(() => Math.random());
    const lengths = new Array(batch).fill(frames);
    model.encode(feats, batch, frames, lengths); // warm-up (and, on a GPU, algorithm search)
    opts.beforeTimed?.(batch);
    const t0 = now();
    for (let i = 0; i < reps; i++) model.encode(feats, batch, frames, lengths);
    const sPerCall = (now() - t0) / 1000 / reps;
    const windowsPerS = batch / sPerCall;
    const windowAudioPerS = windowsPerS * windowMs / 1000;
    const row = {
      batch,
      ms_per_call: round(sPerCall * 1000, 2),
      windows_per_s: round(windowsPerS, 2),
      window_audio_s_per_s: round(windowAudioPerS, 2),
      stream_limit: round(windowAudioPerS / recompute, 1),
    };
    rows.push(row);
    opts.onRow?.(row);
  }
  return { window_ms: windowMs, step_ms: stepMs, recompute_factor: recompute, frames, reps, rows };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The limit of several inference lanes encoding at once (the server's INFERENCE_LANES), from
 * each lane's own measurement of its share of the windows: rates add up. Each row's `batch` is
 * the windows of all lanes together and `ms_per_call` the lanes' mean.
 */
export function combineLanes(lanes: readonly EncoderLimit[]): EncoderLimit & { lanes: number } {
  if (lanes.length === 0) throw new RangeError("combining lanes needs at least one lane");
  const first = lanes[0];
  for (const lane of lanes) {
    if (
      lane.window_ms !== first.window_ms || lane.step_ms !== first.step_ms ||
      lane.rows.length !== first.rows.length ||
      lane.rows.some((r, i) => r.batch !== first.rows[i].batch)
    ) {
      throw new RangeError("lanes measured different windows or batch sizes");
    }
  }
  const rows = first.rows.map((_, i) => {
    const at = lanes.map((lane) => lane.rows[i]);
    const sum = (k: "windows_per_s" | "window_audio_s_per_s" | "stream_limit") =>
      at.reduce((n, r) => n + r[k], 0);
    return {
      batch: at.reduce((n, r) => n + r.batch, 0),
      ms_per_call: round(at.reduce((n, r) => n + r.ms_per_call, 0) / at.length, 2),
      windows_per_s: round(sum("windows_per_s"), 2),
      window_audio_s_per_s: round(sum("window_audio_s_per_s"), 2),
      stream_limit: round(sum("stream_limit"), 1),
    };
  });
  return { ...first, rows, lanes: lanes.length };
}
