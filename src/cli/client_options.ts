import { UsageError } from "./usage_error.ts";

/** A finite number within [min, max], or a usage error naming the flag and the value. */
export function numberOption(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** A whole number within [min, max], or a usage error naming the flag and the value. */
export function intOption(value: string, name: string, min: number, max: number): number {
  const n = numberOption(value, name, min, max);
  if (!Number.isInteger(n)) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
