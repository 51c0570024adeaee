import type { DeviceRequest } from "../../ffi/mod.ts";
import { UsageError } from "./usage_error.ts";

// The demo model's folder is the server's business too (served without MODEL); the commands
// here find it the same way.
export { defaultModelDir } from "../model/demo_model_dir.ts";

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
