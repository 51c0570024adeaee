import { raiseFileLimit } from "../../ffi/rlimit.ts";
import { effectiveConnectionCap } from "../net/connection_table.ts";

/**
 * Every connection is a file descriptor: take all the process may have, and keep the cap well
 * below it so that running out is a 503, never an accept error. Returns the cap in force.
 */
export function connectionCap(maxConnections: number, log: (line: string) => void): number {
  const files = raiseFileLimit();
  const cap = files ? effectiveConnectionCap(maxConnections, files.after.soft) : maxConnections;
  if (files && files.before.soft !== files.after.soft) {
    log(`open-file limit raised from ${files.before.soft} to ${files.after.soft}`);
  }
  if (files && cap < maxConnections) {
    log(
      `connections: at most ${cap}, not MAX_CONNECTIONS=${maxConnections}: the open-file limit is ${files.after.soft} (raise it with ulimit -n)`,
    );
  }
  return cap;
}
