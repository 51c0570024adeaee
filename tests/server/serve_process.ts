/**
 * `parakeet-server serve` as a real process on a free loopback port, for what only a process
 * shows: signals, exit codes, start-up failures. The log (stderr) is kept for assertions.
 */
import { ROOT, TINY_MODEL } from "../engine/fixtures.ts";

const SERVE_ARGS = ["run", "--allow-all", `${ROOT}main.ts`, "serve", "--host", "127.0.0.1"];

export interface ServeProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  port: number;
  /** Everything logged so far. */
  log(): string;
  /** Resolves once a log line matches `pattern` (rejects if the process ends first). */
  logged(pattern: RegExp): Promise<void>;
  /**
   * The exit status and the milliseconds from `since` (performance.now()) to the exit. A server
   * still running after `limitMs` is killed (SIGKILL shows in the status), so a server that
   * does not stop fails its test instead of hanging it.
   */
  exited(
    since: number,
    limitMs?: number,
  ): Promise<{ status: Deno.CommandStatus; afterMs: number }>;
}

/**
 * Starts the server (tiny model, CPU, port 0, `env` added) and resolves once it listens, or once
 * it logs `until` (port 0 then, if it is not listening yet).
 */
export async function spawnServe(
  env: Record<string, string> = {},
  until = /listening on ws:\/\//,
  opts: {
    /** Run under `ulimit -n` this low (bash sets it, then execs the server). */
    fdLimit?: number;
  } = {},
): Promise<ServeProcess> {
  const args = [...SERVE_ARGS, "--port", "0"];
  const options = {
    // A fixed MAX_STREAMS unless the test sets one: see harness.ts.
    env: { MODEL: TINY_MODEL, DEVICE: "cpu", MAX_STREAMS: "128", ...env },
    stdout: "null",
    stderr: "piped",
  } as const;
  const child =
    (opts.fdLimit === undefined
      ? new Deno.Command(Deno.execPath(), { args, ...options })
      : new Deno.Command("bash", {
        args: ["-c", `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, Deno.execPath(), ...args],
        ...options,
      })).spawn();
  let log = "";
  let waiters: (() => void)[] = [];
  let ended = false;
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  // The log is drained as it comes, so the server never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
      for (const w of waiters) w();
    }
    ended = true;
    for (const w of waiters) w();
  })();
  const exitAt = child.status.then((status) => ({ status, at: performance.now() }));
  const logged = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(log)) resolve();
        else if (ended) reject(new Error(`the server ended before logging ${pattern}:\n${log}`));
        else return;
        waiters = waiters.filter((w) => w !== check);
      };
      waiters.push(check);
      check();
    });
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  await logged(until);
  const port = Number(log.match(/listening on ws:\/\/[^:]+:(\d+)/)?.[1] ?? 0);
  return {
    child,
    port,
    log: () => log,
    logged,
    async exited(since, limitMs = 60_000) {
      const timer = setTimeout(() => kill(), limitMs);
      const { status, at } = await exitAt;
      clearTimeout(timer);
      await drained;
      return { status, afterMs: at - since };
    },
    async [Symbol.asyncDispose]() {
      kill();
      await exitAt;
      await drained;
    },
  };
}

/** A server that should have failed at start-up but is serving is killed after this. */
const START_FAILURE_LIMIT_MS = 60_000;

/** Runs `serve` to its end with `env` and `args` added: for start-up failures. */
export async function runServe(
  env: Record<string, string>,
  args: string[] = ["--port", "0"],
): Promise<{ code: number; signal: Deno.Signal | null; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...SERVE_ARGS, ...args],
    // A fixed MAX_STREAMS unless the test sets one: see harness.ts.
    env: { MODEL: TINY_MODEL, DEVICE: "cpu", MAX_STREAMS: "128", ...env },
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(START_FAILURE_LIMIT_MS),
  }).output();
  return { code: out.code, signal: out.signal, stderr: new TextDecoder().decode(out.stderr) };
}
