/**
 * deploy/nginx/parakeet-server.conf for real: Debian's nginx in front of two server processes
 * on loopback. Streams spread over both (least_conn); when one instance is full, its 503 moves
 * the handshake to the other (proxy_next_upstream); SIGTERM on one drains it: every stream open
 * on it gets its final, then close 1001, through nginx.
 */
import { assert, assertEquals } from "./asserts.ts";
import { alive, freePort, ROOT, waitFor } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { type ServerProcess, spawnServer } from "../../src/bench/server_process.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";

const NGINX = await findTool("nginx", "apt-get install nginx-light");
const TINY = `${ROOT}/models/test/tiny-tdt`;
const CLIP = `${ROOT}/tests/fixtures/clips/digits_pi.wav`;

interface Instance {
  port: number;
  server: ServerProcess;
}

/** `./parakeet-server serve` (the program as shipped) with its port and knobs from the env. */
async function startInstance(maxStreams: number): Promise<Instance> {
  const port = freePort();
  const server = await spawnServer({
    HOST: "127.0.0.1",
    PORT: String(port),
    MODEL: TINY,
    DEVICE: "cpu",
    MAX_STREAMS: String(maxStreams),
    IDLE_TIMEOUT_S: "120",
    ORT_THREADS: "1",
  }, { executable: `${ROOT}/parakeet-server`, args: [] });
  return { port, server };
}

async function status(port: number) {
  const r = await fetch(`http://127.0.0.1:${port}/v1/status`);
  return await r.json() as { streams: { open: number }; refused: Record<string, number> };
}

async function up(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/status`);
    return (await r.text()) === "ok";
  } catch {
    return false;
  }
}

interface Client {
  socket: StreamSocket;
  /** The error codes the server sent. */
  errors: () => string[];
  closed: Promise<number>;
  isClosed: () => boolean;
}

async function openClient(url: string): Promise<Client> {
  const socket = await StreamSocket.open(url).catch(() => {
    throw new Error(`cannot open ${url}`);
  });
  return {
    socket,
    errors: () => socket.errors.map((e) => e.code),
    closed: socket.closed.then((c) => c.code),
    isClosed: () => socket.closeRecord !== null,
  };
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

Deno.test({
  name: "nginx in front of two instances: spread, 503 moves to the other, SIGTERM drains finals",
  ignore: NGINX === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "parakeet-nginx-" });
    const [a, b] = await Promise.all([startInstance(1), startInstance(8)]); // A: full after one
    const clients: Client[] = [];
    let nginx: Deno.ChildProcess | null = null;
    try {
      assert(
        await waitFor(() => up(a.port), 30_000),
        `instance A did not start: ${a.server.log()}`,
      );
      assert(
        await waitFor(() => up(b.port), 30_000),
        `instance B did not start: ${b.server.log()}`,
      );

      const listen = freePort();
      Deno.writeTextFileSync(`${work}/site.conf`, siteConfig(listen, [a.port, b.port]));
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
      const check = await new Deno.Command(NGINX!, {
        args: ["-t", "-p", work, "-c", `${work}/nginx.conf`, "-e", `${work}/error.log`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
      nginx = new Deno.Command(NGINX!, {
        args: ["-p", work, "-c", `${work}/nginx.conf`, "-e", `${work}/error.log`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      assert(await waitFor(() => up(listen), 10_000), "nginx did not start");
      const url = `ws://127.0.0.1:${listen}/ws`;

      // 1. Spread: two streams, one on each instance (least_conn).
      for (let i = 0; i < 2; i++) {
        clients.push(await openClient(url));
        await waitFor(
          async () =>
            (await status(a.port)).streams.open + (await status(b.port)).streams.open === i + 1,
          5000,
        );
      }
      assertEquals([(await status(a.port)).streams.open, (await status(b.port)).streams.open], [
        1,
        1,
      ]);

      // 2. A is full: least_conn still picks it first; its 503 sends the handshake on to B.
      for (let i = 0; i < 3; i++) clients.push(await openClient(url));
      await waitFor(async () => (await status(b.port)).streams.open === 4, 5000);
      const sa = await status(a.port);
      assertEquals([sa.streams.open, (await status(b.port)).streams.open], [1, 4]);
      assert(
        (sa.refused.capacity ?? 0) >= 1,
        `A refused no handshake: ${JSON.stringify(sa.refused)}`,
      );

      // 3. Audio on every stream, no EOS; then SIGTERM on B: its 4 streams get their finals.
      const audio = clipPcmBytes(CLIP.split("/").pop()!);
      for (const c of clients) await c.socket.sendPcm(audio);
      await new Promise((r) => setTimeout(r, 2000));
      b.server.child.kill("SIGTERM");
      const { status: bStatus } = await b.server.exited(performance.now());
      assertEquals(bStatus.code, 0, b.server.log());
      await waitFor(() => clients.filter((c) => c.isClosed()).length >= 4, 10_000);
      const onB = clients.filter((c) => c.isClosed());
      const onA = clients.filter((c) => !c.isClosed());
      assertEquals([onB.length, onA.length], [4, 1]);
      for (const c of onB) {
        assertEquals(await c.closed, 1001);
        assertEquals(c.socket.finals.length, 1, "one final per drained stream");
        assert(c.socket.finals[0].length > 0, "the final has the words");
        assertEquals(c.errors(), ["shutting_down"]);
      }
      // The stream on A is untouched and finishes normally, with the same words.
      onA[0].socket.sendEos("text");
      assert(await waitFor(() => onA[0].socket.finals.length === 1, 10_000), "A's final");
      assertEquals(onA[0].socket.finals[0], onB[0].socket.finals[0]);
    } finally {
      for (const c of clients) if (!c.isClosed()) c.socket.ws.close();
      if (nginx) {
        nginx.kill("SIGQUIT");
        await nginx.status;
      }
      for (const inst of [a, b]) {
        if (alive(inst.server.child.pid)) inst.server.child.kill("SIGTERM");
        await inst.server.child.status;
      }
      await Deno.remove(work, { recursive: true });
    }
  },
});
