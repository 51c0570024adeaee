/**
 * `parakeet-server serve` as its own process on a free loopback port, for benchmarks that need a
 * real server (bench/soak.ts, bench/long_session.ts, `bench gpu --live`). From a checkout it is
 * `deno run --allow-all --v8-flags=… main.ts serve`; from the compiled binary, the binary itself
 * (its V8 flags are compiled in).
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The V8 flags the server runs with (DENO_V8 in scripts/deno_permissions.sh, which says why). */
export const SERVE_V8_FLAGS = "--v8-flags=--max-semi-space-size=8";

export interface ServerProcess {
  child: Deno.ChildProcess;
  port: number;
}

/** The command line that runs `serve` in this program, whichever way it was started. */
export function serveCommandLine(): { cmd: string; args: string[] } {
  const serve = ["serve", "--host", "127.0.0.1", "--port", "0"];
  return Deno.build.standalone
    ? { cmd: Deno.execPath(), args: serve }
    : { cmd: Deno.execPath(), args: ["run", "--allow-all", SERVE_V8_FLAGS, MAIN, ...serve] };
}

/**
 * Starts the server with `env` added to this process's environment (MODEL, DEVICE and knobs) and
 * resolves once it logs its port. A server that exits first rejects with its log so far.
 */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const { cmd, args } = serveCommandLine();
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  let head = "";
  while (!port) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`server exited: ${head.trim()}`);
    }
    head += value;
    port = Number(head.match(/listening on ws:\/\/[^:]+:(\d+)/)?.[1] ?? 0);
  }
  // The log is drained so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { child, port };
}

/** SIGTERM (the server flushes finals and exits), then its exit status. */
export async function stopServer(server: ServerProcess): Promise<Deno.CommandStatus> {
  try {
    server.child.kill("SIGTERM");
  } catch { /* already gone */ }
  return await server.child.status;
}
