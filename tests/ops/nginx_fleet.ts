/**
 * A small fleet on loopback for the tests of deploy/nginx/parakeet-server.conf: server processes
 * (./parakeet-server serve, tiny model, CPU) and Debian's nginx in front of them with the
 * shipped site file, its upstream rewritten to list them.
 */
import { assert, assertEquals } from "./asserts.ts";
import { alive, freePort, ROOT, waitFor } from "./ops_helpers.ts";
import { type ServerProcess, spawnServer } from "../../src/bench/server_process.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";

export const TINY = `${ROOT}/models/test/tiny-tdt`;

export interface Instance {
  port: number;
  server: ServerProcess;
  /** The server's process (`server.child`): a rollout signals it. */
  proc: Deno.ChildProcess;
}

/** `./parakeet-server serve` (the program as shipped) on a free port; `env` adds or overrides knobs. */
export async function startInstance(
  maxStreams: number,
  env: Record<string, string> = {},
): Promise<Instance> {
  const port = freePort();
  const server = await spawnServer({
    HOST: "127.0.0.1",
    PORT: String(port),
    MODEL: TINY,
    DEVICE: "cpu",
    MAX_STREAMS: String(maxStreams),
    IDLE_TIMEOUT_S: "120",
    ORT_THREADS: "1",
    ...env,
  }, { executable: `${ROOT}/parakeet-server`, args: [] });
  return { port, server, proc: server.child };
}

export async function status(port: number) {
  const r = await fetch(`http://127.0.0.1:${port}/v1/status`);
  return await r.json() as { streams: { open: number }; refused: Record<string, number> };
}

export async function up(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/status`);
    return (await r.text()) === "ok";
  } catch {
    return false;
  }
}

export interface Client {
  socket: StreamSocket;
  ws: WebSocket;
  readonly finals: string[];
  readonly partials: string[];
  /** The error codes the server sent. */
  readonly errors: string[];
  closed: Promise<number>;
  isClosed: () => boolean;
}

export async function openClient(url: string): Promise<Client> {
  const socket = await StreamSocket.open(url).catch(() => {
    throw new Error(`cannot open ${url}`);
  });
  return {
    socket,
    ws: socket.ws,
    get finals() {
      return socket.finals;
    },
    get partials() {
      return socket.partials;
    },
    get errors() {
      return socket.errors.map((e) => e.code);
    },
    closed: socket.closed.then((c) => c.code),
    isClosed: () => socket.closeRecord !== null,
  };
}

/** Sends PCM16 audio in 20 ms frames (no EOS). */
export function sendAudio(c: Client, audio: Uint8Array): void {
  for (let off = 0; off < audio.length; off += 640) c.ws.send(audio.subarray(off, off + 640));
}

function siteConfig(listen: number, backends: number[]): string {
  const text = Deno.readTextFileSync(`${ROOT}/deploy/nginx/parakeet-server.conf`);
  const servers = backends.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=5s;`)
    .join("\n");
  const out = text
    .replace(
      /(upstream parakeet_backends \{[\s\S]*?least_conn;\n)[\s\S]*?(\n\})/,
      (_m, a, b) => `${a}${servers}${b}`,
    )
    .replace("listen 80;", `listen 127.0.0.1:${listen};`);
  if (!out.includes(`server 127.0.0.1:${backends[1]}`) || out.includes("listen 80;")) {
    throw new Error("deploy/nginx/parakeet-server.conf changed shape: update this test");
  }
  return out;
}

export interface Nginx extends AsyncDisposable {
  /** The WebSocket URL of the streaming endpoint through nginx. */
  url: string;
  port: number;
}

/** nginx (`binary`) on a free port in front of `backends`, its files in `work`. */
export async function startNginx(binary: string, work: string, backends: number[]): Promise<Nginx> {
  const listen = freePort();
  Deno.writeTextFileSync(`${work}/site.conf`, siteConfig(listen, backends));
  Deno.writeTextFileSync(
    `${work}/nginx.conf`,
    [
      Deno.uid() === 0 ? "user root;" : "",
      "daemon off;",
      "worker_processes 1;",
      `pid ${work}/nginx.pid;`,
      `error_log ${work}/error.log info;`,
      "events { worker_connections 256; }",
      "http {",
      `  access_log ${work}/access.log;`,
      `  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy;`,
      `  fastcgi_temp_path ${work}/fcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;`,
      `  include ${work}/site.conf;`,
      "}",
    ].join("\n"),
  );
  const check = await new Deno.Command(binary, {
    args: ["-t", "-p", work, "-c", `${work}/nginx.conf`, "-e", `${work}/error.log`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
  const proc = new Deno.Command(binary, {
    args: ["-p", work, "-c", `${work}/nginx.conf`, "-e", `${work}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    if (alive(proc.pid)) proc.kill("SIGQUIT");
    await proc.status;
  };
  if (!await waitFor(() => up(listen), 10_000)) {
    await stop();
    throw new Error("nginx did not start");
  }
  return { url: `ws://127.0.0.1:${listen}/ws`, port: listen, [Symbol.asyncDispose]: stop };
}

/** Waits for every instance to answer /status. */
export async function waitUp(instances: Instance[], ms = 30_000): Promise<void> {
  for (const inst of instances) {
    assert(
      await waitFor(() => up(inst.port), ms),
      `an instance did not start: ${inst.server.log()}`,
    );
  }
}

/** SIGTERM to whatever still runs, then waits for every process to exit. */
export async function stopInstances(instances: Instance[]): Promise<void> {
  for (const inst of instances) {
    if (alive(inst.proc.pid)) inst.proc.kill("SIGTERM");
    await inst.proc.status;
  }
}
