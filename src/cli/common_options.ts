import { fileURLToPath } from "node:url";
import type { DeviceRequest } from "../../ffi/mod.ts";
import { UsageError } from "./usage_error.ts";

/**
 * The small model shipped in the repository, used when no model is named. Models are real
 * files, never inside a compiled binary: when this module runs from `deno compile`'s embedded
 * tree (where the path does not exist), the model is looked up beside the executable
 * (`models/tiny-tdt`) and in the checkout around it (`dist/parakeet-server` → `models/test/`).
 */
export function defaultModelDir(execPath: string = Deno.execPath()): string {
  const source = fileURLToPath(new URL("../../models/test/tiny-tdt", import.meta.url));
  const exeDir = execPath.slice(0, execPath.lastIndexOf("/"));
  const candidates = [source, `${exeDir}/models/tiny-tdt`, `${exeDir}/../models/test/tiny-tdt`];
  for (const dir of candidates) {
    try {
      if (Deno.statSync(`${dir}/config.json`).isFile) return dir;
    } catch { /* next */ }
  }
  return source; // the error that follows names the path the repository layout expects
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
