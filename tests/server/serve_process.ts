/**
 * `parakeet-server serve` as a real process on a free loopback port with the tiny model, for
 * what only a process shows: signals, exit codes, start-up failures. The process harness is the
 * benchmarks' (src/bench/server_process.ts); here it gets the test model and device.
 */
import {
  serveCommandLine,
  type ServeOptions,
  type ServerProcess,
  spawnServer,
} from "../../src/bench/server_process.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";

export type ServeProcess = ServerProcess;

/**
 * Starts the server (tiny model, CPU, port 0, `env` added) and resolves once it listens, or once
 * it logs `until` (port 0 then, if it is not listening yet).
 */
export function spawnServe(
  env: Record<string, string> = {},
  until?: RegExp,
  opts: Omit<ServeOptions, "until"> = {},
): Promise<ServeProcess> {
  // A fixed MAX_STREAMS unless the test sets one: see harness.ts.
  return spawnServer({ MODEL: TINY_MODEL, DEVICE: "cpu", MAX_STREAMS: "128", ...env }, {
    ...opts,
    until,
  });
}

/** A server that should have failed at start-up but is serving is killed after this. */
const START_FAILURE_LIMIT_MS = 60_000;

/** Runs `serve` to its end with `env` and `args` added: for start-up failures. */
export async function runServe(
  env: Record<string, string>,
  args: string[] = ["--port", "0"],
): Promise<{ code: number; signal: Deno.Signal | null; stderr: string }> {
  const command = serveCommandLine(["--host", "127.0.0.1", ...args]);
  const out = await new Deno.Command(command.cmd, {
    args: command.args,
    // A fixed MAX_STREAMS unless the test sets one: see harness.ts.
    env: { MODEL: TINY_MODEL, DEVICE: "cpu", MAX_STREAMS: "128", ...env },
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(START_FAILURE_LIMIT_MS),
  }).output();
  return { code: out.code, signal: out.signal, stderr: new TextDecoder().decode(out.stderr) };
}
