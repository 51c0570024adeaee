/**
 * A small fleet on loopback for the tests of deploy/nginx/parakeet-server.conf: server processes
 * (./parakeet-server serve, tiny model, CPU) and Debian's nginx in front of them with the
 * shipped site file, its upstream rewritten to list them.
 */
import { assert, assertEquals } from "./asserts.ts";
import { alive, freePort, ROOT, waitFor } from "./ops_helpers.ts";

export const TINY = `${ROOT}/models/test/tiny-tdt`;

export interface Instance {
  port: number;
  proc: Deno.ChildProcess;
  log: string[];
}

/** A server process on a free port; `env` adds or overrides knobs. */
export function startInstance(maxStreams: number, env: Record<string, string> = {}): Instance {
  const port = freePort();
  const proc = new Deno.Command(`${ROOT}/parakeet-server`, {
    args: ["serve"],
    env: {
      HOST: "127.0.0.1",
      PORT: String(port),
      MODEL: TINY,
      DEVICE: "cpu",
      MAX_STREAMS: String(maxStreams),
      IDLE_TIMEOUT_S: "120",
      ORT_THREADS: "1",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) log.push(chunk);
  })();
  return { port, proc, log };
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
  ws: WebSocket;
  finals: string[];
  partials: string[];
  errors: string[];
  closed: Promise<number>;
  isClosed: () => boolean;
}

export function openClient(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const finals: string[] = [];
  const partials: string[] = [];
  const errors: string[] = [];
  let done = false;
  const closed = new Promise<number>((res) => {
    ws.onclose = (e) => {
      done = true;
      res(e.code);
    };
  });
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data as string);
    if (m.type === "final") finals.push(m.text);
    if (m.type === "partial") partials.push(m.text);
    if (m.type === "error") errors.push(m.code);
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, finals, partials, errors, closed, isClosed: () => done });
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
  });
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
      `an instance did not start: ${inst.log.join("")}`,
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
