/**
 * `parakeet-server serve` as its own process, for whatever needs a real server process: the
 * benchmarks (bench/soak.ts, bench/long_session.ts, `bench gpu --live`) and the tests of what
 * only a process shows (signals, exit codes, fd limits, a proxy in front). From a checkout it is
 * `deno run --allow-all --v8-flags=… main.ts serve`; from the compiled binary, the binary itself
 * (its V8 flags are compiled in). The log (stderr) is drained as it comes and kept.
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The V8 flags the server runs with (DENO_V8 in scripts/deno_permissions.sh, which says why). */
export const SERVE_V8_FLAGS = "--v8-flags=--max-semi-space-size=8";

/** The listening line's port: the one way a process on port 0 tells which port it got. */
const LISTENING = /listening on ws:\/\/[^:]+:(\d+)/;

/** Loopback on a free port: what every local server process listens on unless told otherwise. */
export const LOOPBACK_ANY_PORT = ["--host", "127.0.0.1", "--port", "0"];

export interface ServeOptions {
  /** Arguments after `serve` (default: loopback, port 0). */
  args?: string[];
  /** Run this compiled binary instead of this program (e.g. the release build under test). */
  executable?: string;
  /** Run under `ulimit -n` this low (bash sets it, then execs the server). */
  fdLimit?: number;
  /**
   * Resolve once a log line matches this instead of once the server listens (port 0 then, if
   * it is not listening yet): for a start-up that is meant to stop half way.
   */
  until?: RegExp;
  /** A server not started within this is killed and the start rejects (default: no limit). */
  startTimeoutMs?: number;
}

export interface ServerProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  port: number;
  /** Everything logged so far. */
  log(): string;
  /** Resolves once the log matches `pattern` (rejects if the process ends first). */
  logged(pattern: RegExp): Promise<void>;
  /**
   * The exit status and the milliseconds from `since` (performance.now()) to the exit. A server
   * still running after `limitMs` is killed (SIGKILL shows in the status), so a server that
   * does not stop fails its caller instead of hanging it.
   */
  exited(
    since: number,
    limitMs?: number,
  ): Promise<{ status: Deno.CommandStatus; afterMs: number }>;
}

/** The command line that runs `serve` with `args`, whichever way this program was started. */
export function serveCommandLine(
  args: string[] = LOOPBACK_ANY_PORT,
  executable?: string,
): { cmd: string; args: string[] } {
  const serve = ["serve", ...args];
  if (executable !== undefined) return { cmd: executable, args: serve };
  return Deno.build.standalone
    ? { cmd: Deno.execPath(), args: serve }
    : { cmd: Deno.execPath(), args: ["run", "--allow-all", SERVE_V8_FLAGS, MAIN, ...serve] };
}

/**
 * Starts the server with `env` added to this process's environment (MODEL, DEVICE and knobs) and
 * resolves once it logs its port (or `opts.until`). A server that exits first rejects with its
 * log so far. Disposal kills it (SIGKILL) and awaits its exit.
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: ServeOptions = {},
): Promise<ServerProcess> {
  const { cmd, args } = serveCommandLine(opts.args, opts.executable);
  const options = { env, stdin: "null", stdout: "null", stderr: "piped" } as const;
  const child =
    (opts.fdLimit === undefined
      ? new Deno.Command(cmd, { args, ...options })
      : new Deno.Command("bash", {
        args: ["-c", `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, cmd, ...args],
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
        else if (ended) reject(new Error(`server exited before logging ${pattern}: ${log.trim()}`));
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
  const tooSlow = opts.startTimeoutMs === undefined ? undefined : setTimeout(() => {
    log += `\n(not started within ${opts.startTimeoutMs} ms: killed)`;
    kill();
  }, opts.startTimeoutMs);
  try {
    await logged(opts.until ?? LISTENING);
  } catch (err) {
    await exitAt;
    throw err;
  } finally {
    clearTimeout(tooSlow);
  }
  return {
    child,
    port: Number(log.match(LISTENING)?.[1] ?? 0),
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

/** SIGTERM (the server flushes finals and exits), then its exit status. */
export async function stopServer(server: ServerProcess): Promise<Deno.CommandStatus> {
  try {
    server.child.kill("SIGTERM");
  } catch { /* already gone */ }
  return await server.child.status;
}
