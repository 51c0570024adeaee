/**
 * The decode step measured on the device a model is loaded on: greedy TDT decoding of seeded
 * random encoder frames through the host path (OrtJoiner + decodeTdtBatch: frames and states in,
 * every logit out, per call) and through the resident decode step (frames → decoder_joint → head
 * chained over IO bindings: on CUDA only per-row integers leave the device), alternating so load
 * on the machine hits both alike. Both must agree token for token. Bytes crossing between
 * TypeScript and ONNX Runtime come from ffi's transfer counters: on a GPU each is a PCIe byte.
 *
 * Used by `bench gpu` and by bench/decode_step.ts.
 */
import { mulberry32 } from "../bench/seeded_random.ts";
import { transferStats } from "../../ffi/mod.ts";
import type { DecodeStep } from "../decode/decode_step.ts";
import type { Joiner, TdtSpec } from "../decode/joiner.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../decode/tdt_greedy.ts";
import { decodeTdtBatchStepped } from "../decode/tdt_greedy_step.ts";
import { initialTdtState } from "../decode/tdt_state.ts";

/** What the measurement needs of a model: both decoding paths over one joint session. */
export interface DecodeStepModel {
  readonly spec: TdtSpec;
  readonly joiner: Joiner;
  readonly decodeStep?: DecodeStep;
}

export interface DecodeStepBenchModels {
  /** Its resident step, and its host path unless `host` is given. */
  model: DecodeStepModel;
  /**
   * The host path from a model of its own (loaded with `decodeStep: "host"`): the plain joint,
   * as before the decode step. A fused model's own joiner runs the helper nodes too.
   */
  host?: DecodeStepModel;
  /** Another resident step measured beside them: the three-run chain the fused step replaced. */
  chain?: DecodeStep;
}

export interface DecodeStepBenchOptions {
  /** Rows decoded together, one measurement each (e.g. 1, 8, 32). */
  batches: number[];
  /** Encoder frames per row. */
  framesPerRow: number;
  /** Seconds of decoding per path and batch size, at least three runs each. */
  seconds: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
  onRow?: (row: DecodeStepRow) => void;
}

export interface DecodeStepPath {
  runs: number;
  seconds: number;
  joint_calls: number;
  row_steps: number;
  tokens: number;
  steps_per_second: number;
  row_steps_per_second: number;
  tokens_per_second: number;
  /** A call's bytes per row (the fewest of any call: one with no per-batch work). */
  bytes_per_call_per_row: number;
  /** All bytes inside calls over all row-steps (the resident step's compactions included). */
  bytes_per_row_step_in_calls: number;
  /** Also counting the once-per-batch upload of frames and states and the final state read. */
  bytes_per_row_step_all: number;
}

export interface DecodeStepRow {
  batch: number;
  frames_per_row: number;
  tokens_per_run: number;
  identical_tokens: boolean;
  /** The old path: every call copies frames and states in and all logits out. */
  host: DecodeStepPath;
  /** The new path: the values stay in ONNX Runtime (on the device) between calls. */
  resident: DecodeStepPath;
  /** resident ÷ host row-steps per second. */
  speedup: number;
  /** The resident step as three runs a call (frames, joint, head), when measured. */
  chain?: DecodeStepPath;
  /** resident ÷ chain row-steps per second. */
  speedup_over_chain?: number;
}

interface Counted {
  calls: number;
  rowCalls: number;
  callBytes: number;
  steadyPerRow: number;
}

type Path = "host" | "resident" | "chain";

/** Decodes the same rows every way for each batch size; throws if the paths disagree. */
export function measureDecodeStep(
  models: DecodeStepBenchModels,
  opts: DecodeStepBenchOptions,
): DecodeStepRow[] {
  const { model, chain } = models;
  const hostModel = models.host ?? model;
  const inner = model.decodeStep;
  if (!inner) throw new Error("the model was loaded without the resident decode step");
  const now = opts.now ?? (() => performance.now());
  const spec = model.spec;
  const out: DecodeStepRow[] = [];
  for (const batch of opts.batches) {
    const rows = randomRows(spec, batch, opts.framesPerRow, 1000 + batch);
    const paths: Path[] = chain ? ["host", "resident", "chain"] : ["host", "resident"];
    const counted = { host: fresh(), resident: fresh(), chain: fresh() };
    const run = {
      host: hostDecoder(hostModel, counted.host),
      resident: residentDecoder(model.spec, inner, counted.resident),
      chain: chain ? residentDecoder(model.spec, chain, counted.chain) : null,
    };
    // Warm-up (binds each row count once) and the token-for-token check.
    const a = run.host(rows);
    const identical = paths.every((path) => same(a, run[path]!(rows)));
    if (!identical) throw new Error(`decode step, batch ${batch}: the paths disagree`);
    for (const path of paths) Object.assign(counted[path], fresh());

    const zero = () => ({ host: 0, resident: 0, chain: 0 });
    const time = zero();
    const bytes = zero();
    const tokens = zero();
    const runs = zero();
    while (paths.some((path) => time[path] < opts.seconds) || runs.host < 3) {
      // Rotating which path goes first cancels what the order itself would favour.
      const first = runs.host % paths.length;
      const order = [...paths.slice(first), ...paths.slice(0, first)];
      for (const path of order) {
        const before = transferStats();
        const t0 = now();
        const result = run[path]!(rows);
        time[path] += (now() - t0) / 1000;
        const after = transferStats();
        bytes[path] += after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
        tokens[path] += result.reduce((n, r) => n + r.tokens.length, 0);
        runs[path]++;
      }
    }
    const summary = (path: Path): DecodeStepPath => {
      const c = counted[path];
      const s = Math.max(time[path], 1e-9);
      return {
        runs: runs[path],
        seconds: round(time[path], 3),
        joint_calls: c.calls,
        row_steps: c.rowCalls,
        tokens: tokens[path],
        steps_per_second: round(c.calls / s, 1),
        row_steps_per_second: round(c.rowCalls / s, 1),
        tokens_per_second: round(tokens[path] / s, 1),
        bytes_per_call_per_row: round(c.steadyPerRow, 1),
        bytes_per_row_step_in_calls: round(c.callBytes / c.rowCalls, 1),
        bytes_per_row_step_all: round(bytes[path] / c.rowCalls, 1),
      };
    };
    const host = summary("host");
    const resident = summary("resident");
    const row: DecodeStepRow = {
      batch,
      frames_per_row: opts.framesPerRow,
      tokens_per_run: a.reduce((n, x) => n + x.tokens.length, 0),
      identical_tokens: identical,
      host,
      resident,
      speedup: round(resident.row_steps_per_second / host.row_steps_per_second, 3),
    };
    if (chain) {
      row.chain = summary("chain");
      row.speedup_over_chain = round(
        resident.row_steps_per_second / row.chain.row_steps_per_second,
        3,
      );
    }
    opts.onRow?.(row);
    out.push(row);
  }
  return out;
}

/** `batch` rows of seeded uniform frames in (-0.9, 0.9), each from its initial state. */
function randomRows(spec: TdtSpec, batch: number, frames: number, seed: number): TdtRow[] {
  const random = mulberry32(seed);
  return Array.from({ length: batch }, () => ({
    frames: Float32Array.from(
      { length: frames * spec.encoderDim },
      () => (random() * 2 - 1) * 0.9,
    ),
    numFrames: frames,
    state: initialTdtState(spec),
  }));
}

/** The host path with its joint calls counted (the bound run counts its own bytes). */
function hostDecoder(model: DecodeStepModel, c: Counted) {
  const joiner: Joiner = {
    join: (input) => {
      const before = transferStats();
      const out = model.joiner.join(input);
      count(c, input.batch, before);
      return out;
    },
  };
  return (rows: TdtRow[]) => decodeTdtBatch(joiner, model.spec, rows);
}

function residentDecoder(spec: TdtSpec, inner: DecodeStep, c: Counted) {
  const step: DecodeStep = {
    begin: (rows) => {
      const batch = inner.begin(rows);
      return {
        step: (m, r, f, t) => {
          const before = transferStats();
          const out = batch.step(m, r, f, t);
          count(c, m, before);
          return out;
        },
        states: () => batch.states(),
        close: () => batch.close(),
        [Symbol.dispose]: () => batch.close(),
      };
    },
  };
  return (rows: TdtRow[]) => decodeTdtBatchStepped(step, spec, rows);
}

function count(c: Counted, rows: number, before: { toOrt: number; fromOrt: number }): void {
  const after = transferStats();
  const bytes = after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
  c.calls++;
  c.rowCalls += rows;
  c.callBytes += bytes;
  c.steadyPerRow = Math.min(c.steadyPerRow, bytes / rows);
}

function fresh(): Counted {
  return { calls: 0, rowCalls: 0, callBytes: 0, steadyPerRow: Infinity };
}

function same(a: TdtRowResult[], b: TdtRowResult[]): boolean {
  return a.every((x, i) =>
    JSON.stringify([x.tokens, x.frames, x.durations, x.state.frameSkip]) ===
      JSON.stringify([b[i].tokens, b[i].frames, b[i].durations, b[i].state.frameSkip])
  );
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

/** The decode-step table printed by `bench gpu`. */
export function decodeStepText(device: string, rows: DecodeStepRow[]): string {
  const head = [
    "rows",
    "host row-steps/s",
    "host B/row/call",
    "resident row-steps/s",
    "resident B/row/call",
    "speedup",
  ];
  const cells = rows.map((r) =>
    [
      r.batch,
      r.host.row_steps_per_second,
      r.host.bytes_per_call_per_row,
      r.resident.row_steps_per_second,
      r.resident.bytes_per_call_per_row,
      `×${r.speedup}`,
    ].map(String)
  );
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c].length)));
  const fmt = (line: string[]) => line.map((x, c) => x.padStart(widths[c])).join("  ");
  return [
    `decode step on ${device} (greedy TDT, ${
      rows[0]?.frames_per_row ?? 0
    } random frames per row; host: frames, states and logits cross per call; resident: values kept in ONNX Runtime by IO binding, per-row integers cross):`,
    fmt(head),
    ...cells.map(fmt),
  ].join("\n");
}
