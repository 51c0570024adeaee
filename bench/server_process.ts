/** A server process on a free loopback port with the bundled model, for the long benches. */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

export async function startServerProcess(
  knobs: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}main.ts`, "serve", "--host", "127.0.0.1", "--port", "0"],
    env: { MODEL: `${ROOT}models/test/tiny-tdt`, DEVICE: "cpu", ...knobs },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  let head = "";
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${head}`);
    head += value;
    port = Number(head.match(/listening on ws:\/\/[^:]+:(\d+)/)?.[1] ?? 0);
  }
  // The log is drained so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { child, port };
}
