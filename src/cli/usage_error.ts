/** A mistake on the command line: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The command whose --help to point at, when not the first word (e.g. "bench gpu"). */
  command?: string;
}

/** Runs `parse`; any error it throws becomes a UsageError (exit 2, with a hint to --help). */
export function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
