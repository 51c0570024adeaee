/**
 * Test-only fault injection for the inference worker. Off unless the environment variable
 * `PARAKEET_TEST_FAULTS` holds a JSON list such as `[{"stream":3,"kind":"nan"}]`: every batch
 * that carries a row of that stream then fails in that way. Never set it in production; the
 * server logs a warning at start when it is set.
 *
 * - `throw`: the batch throws before running.
 * - `hang`:  the worker blocks for `ms` (default 1 h), as a stuck native call would; the engine's
 *            deadline (INFERENCE_TIMEOUT_S) must fail the batch and restart the worker.
 * - `nan`:   the encoder output is NaN; the joint's check must refuse it.
 * - `shape`: the encoder output is one frame short of its dims; batch inference must refuse it.
 */
import type { EncoderOutput } from "../model/parakeet_model.ts";
import type { InferenceModel, InferenceRequest } from "./inference_contract.ts";

export type FaultKind = "throw" | "hang" | "nan" | "shape";
export interface Fault {
  stream: number;
  kind: FaultKind;
  ms?: number;
}

export const FAULTS_ENV = "PARAKEET_TEST_FAULTS";

export function faultsFromEnv(): Fault[] {
  const raw = Deno.env.get(FAULTS_ENV);
  if (!raw) return [];
  const list = JSON.parse(raw);
  if (!Array.isArray(list)) throw new Error(`${FAULTS_ENV} must be a JSON list of faults`);
  return list as Fault[];
}

/** The fault for this request, if any of its rows belongs to a faulted stream. */
export function faultFor(faults: Fault[], req: InferenceRequest): Fault | undefined {
  return faults.find((f) => req.rows.some((r) => r.tag === f.stream));
}

/** Applies `fault` around `model`; returns the model the batch should run with. */
export function applyFault(fault: Fault, model: InferenceModel): InferenceModel {
  switch (fault.kind) {
    case "throw":
      throw new Error(`injected fault: the model threw for stream ${fault.stream}`);
    case "hang":
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.ms ?? 3_600_000);
      return model;
    case "nan":
    case "shape":
      return {
        featuresSize: model.featuresSize,
        spec: model.spec,
        joiner: model.joiner,
        encode(features, batch, frames, lengths): EncoderOutput {
          const out = model.encode(features, batch, frames, lengths);
          if (fault.kind === "nan") return { ...out, data: out.data.map(() => NaN) };
          return { ...out, data: out.data.subarray(0, out.data.length - out.dim) };
        },
      };
  }
}
