import { UsageError } from "./usage_error.ts";

/** Where client, warmup and bench find the server's token when --token is not given. */
export const TOKEN_ENV = "PARAKEET_TOKEN";

/**
 * The token to send: --token, else PARAKEET_TOKEN (empty = none). A token the server could
 * never accept (spaces, control characters) is a usage error that does not repeat it.
 */
export function tokenOption(
  flag: string | undefined,
  env: string | undefined = Deno.env.get(TOKEN_ENV),
): string | undefined {
  const [token, name] = flag !== undefined ? [flag, "--token"] : [env || undefined, TOKEN_ENV];
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(
      `${name} must be printable ASCII without spaces (the server's AUTH_TOKEN); got ${token.length} character(s) that are not`,
    );
  }
  return token;
}

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
