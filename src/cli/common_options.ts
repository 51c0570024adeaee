import { fileURLToPath } from "node:url";
import type { DeviceRequest } from "../../ffi/mod.ts";
import { UsageError } from "./usage_error.ts";

/** The small model shipped in the repository, used when no model is named. */
export function defaultModelDir(): string {
  return fileURLToPath(new URL("../../models/test/tiny-tdt", import.meta.url));
}

export function deviceOption(value: string, name: string): DeviceRequest {
  if (value === "auto" || value === "cuda" || value === "cpu") return value;
  throw new UsageError(`${name} must be auto, cuda or cpu, got "${value}"`);
}

export function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${name} must be a whole number ≥ 1, got "${value}"`);
  }
  return n;
}
