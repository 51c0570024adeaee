/**
 * Bytes that cross between TypeScript memory and ONNX Runtime, counted where they cross: a
 * host tensor bound to a run (ORT reads or writes the caller's array) or a copy into or out of
 * an ORT-owned value. On a GPU each of these bytes is a host↔device transfer; on the CPU it is
 * the memory the decoding loop touches per call. Process-wide (per isolate) counters: read a
 * snapshot before and after the work to measure.
 */
export interface TransferStats {
  /** Bytes ORT read from TypeScript arrays (inputs, uploads). */
  toOrt: number;
  /** Bytes ORT wrote into TypeScript arrays (outputs, downloads). */
  fromOrt: number;
  /** Session runs counted. */
  runs: number;
}

const counters: TransferStats = { toOrt: 0, fromOrt: 0, runs: 0 };

/** A copy of the counters now. */
export function transferStats(): TransferStats {
  return { ...counters };
}

/** @internal Called by ffi/ wherever bytes cross. */
export function countTransfer(toOrt: number, fromOrt: number, runs = 0): void {
  counters.toOrt += toOrt;
  counters.fromOrt += fromOrt;
  counters.runs += runs;
}
