import type { DeviceRequest, SessionOptions } from "../../ffi/mod.ts";
import type { TdtSpec } from "../decode/joiner.ts";
import type { Precision } from "../model/model_files.ts";
import type { InferenceRequest, InferenceResult } from "./inference_contract.ts";

/** Messages between the main isolate and the inference worker (structured-clone safe). */
export interface LoadSpec {
  modelDir: string;
  precision: Precision;
  device: DeviceRequest;
  session: Omit<SessionOptions, "device">;
  /** ORT_LIB-style override of where libonnxruntime is found. */
  libPath?: string;
}

export interface LoadedModel {
  spec: TdtSpec;
  device: "cpu" | "cuda";
  ortVersion: string;
  warnings: string[];
}

export interface SerializedError {
  name: string;
  message: string;
}

export type ToWorker =
  | { type: "load"; spec: LoadSpec }
  | { type: "run"; id: number; request: InferenceRequest }
  | { type: "close" };

export type FromWorker =
  | { type: "loaded"; model: LoadedModel }
  | { type: "load_failed"; error: SerializedError }
  | { type: "result"; id: number; result: InferenceResult }
  | { type: "failed"; id: number; error: SerializedError }
  | { type: "closed" };

export function serializeError(err: unknown): SerializedError {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: "Error", message: String(err) };
}
