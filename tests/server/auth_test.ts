/**
 * Access control: tokens (header and query), origins, open health routes, refusals before the
 * upgrade, tokens never in logs, and a client nobody here wrote (Python's websockets).
 */
import assert from "node:assert/strict";
import { launchServer } from "../../src/server/launch.ts";
import { checkAccess, loadAccessPolicy, timingSafeEqual } from "../../src/server/auth.ts";
import { ConfigError, loadServerConfig } from "../../src/server/config.ts";
import { clipPcmBytes, CLIPS_DIR, ROOT, TINY_MODEL } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "./harness.ts";
import { runServe } from "./serve_process.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";

const TOKEN = "s3cret-Token_0123456789";
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("timingSafeEqual: equal only for the same bytes, whatever the lengths", () => {
  assert.equal(timingSafeEqual(bytes("abcdef"), bytes("abcdef")), true);
  assert.equal(timingSafeEqual(bytes("xbcdef"), bytes("abcdef")), false);
  assert.equal(timingSafeEqual(bytes("abcdex"), bytes("abcdef")), false);
  assert.equal(timingSafeEqual(bytes("abc"), bytes("abcdef")), false, "a prefix");
  assert.equal(timingSafeEqual(bytes("abcdefabcdef"), bytes("abcdef")), false, "a repetition");
  assert.equal(timingSafeEqual(bytes(""), bytes("abcdef")), false);
  assert.equal(timingSafeEqual(bytes("é"), bytes("é")), true, "UTF-8 bytes");
});

Deno.test("access knobs: token file lines, comments, and every bad value named", () => {
  const files: Record<string, string> = {
    "/t": "# ops tokens\n\n  alpha-1  \r\nbeta-2\n",
    "/empty": "# nothing here\n\n",
    "/spaced": "ok-token\nhas a space\n",
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Deno.errors.NotFound(`No such file: ${p}`);
    return files[p];
  };
  const knobs = { authToken: null, authTokenFile: null, allowedOrigins: null };
  const p = loadAccessPolicy({ ...knobs, authToken: "gamma", authTokenFile: "/t" }, read);
  assert.deepEqual(p.tokens.map((t) => new TextDecoder().decode(t)), [
    "gamma",
    "alpha-1",
    "beta-2",
  ]);
  assert.deepEqual(p.origins, new Set(), "no other origin than the server's own by default");
  assert.equal(loadAccessPolicy(knobs).tokens.length, 0, "off by default");

  assert.throws(
    () => loadAccessPolicy({ ...knobs, authTokenFile: "/missing" }, read),
    (e: Error) =>
      e instanceof ConfigError && /AUTH_TOKEN_FILE: cannot read "\/missing"/.test(e.message),
  );
  assert.throws(
    () => loadAccessPolicy({ ...knobs, authTokenFile: "/empty" }, read),
    /AUTH_TOKEN_FILE "\/empty" holds no token/,
  );
  assert.throws(
    () => loadAccessPolicy({ ...knobs, authTokenFile: "/spaced" }, read),
    (e: Error) =>
      /line 2: a token must be printable ASCII/.test(e.message) &&
      !e.message.includes("has a space"),
  );
  assert.throws(
    () => loadAccessPolicy({ ...knobs, authToken: "zqx\tzqx" }),
    (e: Error) => /AUTH_TOKEN: a token must be/.test(e.message) && !e.message.includes("zqx"),
  );

  const o = loadAccessPolicy({
    ...knobs,
    allowedOrigins: " HTTP://App.Example:80 , https://b.example/ ,",
  });
  assert.deepEqual([...o.origins!], ["http://app.example", "https://b.example"]);
  assert.equal(
    loadAccessPolicy({ ...knobs, allowedOrigins: "https://a.example,*" }).origins,
    "any",
  );
  for (const bad of ["app.example", "https://a.example/path", "ftp://a.example", "null"]) {
    assert.throws(
      () => loadAccessPolicy({ ...knobs, allowedOrigins: bad }),
      new RegExp(
        `ALLOWED_ORIGINS: "${bad.replaceAll(".", "\\.").replaceAll("/", "\\/")}" is not an origin`,
      ),
    );
  }
});

Deno.test("checkAccess: the order and shape of refusals", () => {
  const policy = loadAccessPolicy({
    authToken: TOKEN,
    authTokenFile: null,
    allowedOrigins: "https://good.example",
  });
  const check = (path: string, headers: Record<string, string> = {}, publicPath = false) => {
    const url = new URL(`http://h${path}`);
    return checkAccess(policy, new Request(url, { headers }), url, publicPath);
  };
  assert.equal(check("/status"), null);
  assert.equal(check("/ready", { origin: "https://evil.example" }), null);
  assert.equal(check("/", {}, true), null, "the demo page's files need no token");
  assert.equal(check("/", { origin: "https://evil.example" }, true)?.status, 403);
  assert.equal(
    check("/v1/status", { origin: "https://evil.example" })?.status,
    403,
    "origin first",
  );
  assert.equal(check("/v1/status", { origin: "null" })?.status, 403);
  const missing = check("/v1/status")!;
  assert.equal(missing.status, 401);
  assert.equal(missing.headers["www-authenticate"], 'Bearer realm="parakeet-server"');
  for (const h of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", TOKEN]) {
    const r = check("/v1/status", { authorization: h })!;
    assert.equal(r.status, 401, h);
    assert.match(r.headers["www-authenticate"], /error="invalid_request"/, h);
    assert.ok(!r.message.includes(TOKEN));
  }
  const wrong = check("/v1/status", { authorization: "Bearer nope" })!;
  assert.match(wrong.headers["www-authenticate"], /error="invalid_token"/);
  assert.equal(check("/v1/status", { authorization: `bearer ${TOKEN}` }), null, "scheme any case");
  assert.equal(check(`/v1/status?token=${TOKEN}`), null);
  assert.equal(
    check(`/ws?token=${TOKEN}`, {
      origin: "https://good.example",
      authorization: `Bearer ${TOKEN}`,
    })
      ?.status,
    401,
    "a token sent twice is refused",
  );
  assert.equal(check(`/ws?token=${TOKEN}&token=${TOKEN}`)?.status, 401);
  assert.equal(check(`/ws?token=${TOKEN}`, { origin: "https://good.example" }), null);
});

/** A WebSocket handshake on a bare socket, so any header can be sent; the status line back. */
async function handshake(port: number, path: string, headers: Record<string, string> = {}) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await conn.write(bytes(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
    ));
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    return { status: Number(head.split(" ")[1]), head };
  } finally {
    conn.close();
  }
}

Deno.test("AUTH_TOKEN: the upgrade and every route but /status need it; refusals come first", async () => {
  await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
  const port = srv.server.port;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${srv.http}${path}`, { headers });
    return {
      status: res.status,
      auth: res.headers.get("www-authenticate"),
      body: await res.text(),
    };
  };

  assert.deepEqual((await get("/status")).status, 200);
  assert.notEqual((await get("/ready")).status, 401);
  assert.equal((await get("/")).status, 200, "the demo page itself is public");

  const absent = await get("/v1/status");
  assert.equal(absent.status, 401);
  assert.equal(absent.auth, 'Bearer realm="parakeet-server"');
  assert.match(absent.body, /needs a token/);
  assert.equal((await get("/v1/status", { authorization: "Token abc" })).status, 401);
  const wrong = await get("/v1/status", { authorization: "Bearer wrong-token" });
  assert.equal(wrong.status, 401);
  assert.match(wrong.auth!, /invalid_token/);
  assert.equal((await get("/v1/status", { authorization: `Bearer ${TOKEN}` })).status, 200);
  assert.equal((await get(`/v1/status?token=${encodeURIComponent(TOKEN)}`)).status, 200);
  assert.equal((await get("/metrics")).status, 401);
  assert.equal((await get("/no/such/route")).status, 401, "no route map for strangers");

  // The upload route refuses before reading a byte of the body.
  const upload = await fetch(`${srv.http}/v1/audio/transcriptions`, {
    method: "POST",
    body: new Uint8Array(1 << 20),
  });
  await upload.body?.cancel();
  assert.equal(upload.status, 401);

  // WebSocket: no upgrade without the token, in any of its wrong forms.
  assert.equal((await handshake(port, "/ws")).status, 401);
  assert.equal((await handshake(port, "/ws?token=wrong")).status, 401);
  assert.equal((await handshake(port, "/ws", { authorization: "Bearer wrong" })).status, 401);
  assert.equal((await handshake(port, "/ws", { authorization: "Bearer" })).status, 401);
  assert.equal((await handshake(port, "/ws", { authorization: `Bearer ${TOKEN}` })).status, 101);
  assert.equal((await handshake(port, `/ws?token=${TOKEN}`)).status, 101);

  // With the token in the query (what the browser demo does), a stream works end to end.
  const pcm = clipPcmBytes("digits_pi.wav");
  const ok = await streamAudio(`${srv.url}?token=${encodeURIComponent(TOKEN)}`, pcm, { rtf: 0 });
  assert.equal(ok.finals.length, 1);
  assert.ok(ok.finals[0].length > 0);
  assert.equal(ok.closeCode, 1000);

  const metrics = await get("/metrics", { authorization: `Bearer ${TOKEN}` });
  const refused = /parakeet_refused_total\{reason="unauthorized"\} (\d+)/.exec(metrics.body);
  assert.ok(refused && Number(refused[1]) >= 10, metrics.body.slice(0, 200));
});

Deno.test("ALLOWED_ORIGINS: a foreign browser origin gets 403; listed and absent origins pass", async () => {
  await using srv = await startTestServer({
    AUTH_TOKEN: TOKEN,
    ALLOWED_ORIGINS: "http://good.example:8080,https://app.example",
  });
  const port = srv.server.port;
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal(
    (await handshake(port, "/ws", { ...auth, origin: "http://evil.example" })).status,
    403,
  );
  assert.equal(
    (await handshake(port, "/ws", { ...auth, origin: "http://good.example:8081" })).status,
    403,
    "another port is another origin",
  );
  assert.equal((await handshake(port, "/ws", { ...auth, origin: "null" })).status, 403);
  assert.equal(
    (await handshake(port, "/ws", { origin: "http://evil.example" })).status,
    403,
    "the origin is judged before the token",
  );
  assert.equal(
    (await handshake(port, "/ws", { ...auth, origin: "http://good.example:8080" })).status,
    101,
  );
  assert.equal(
    (await handshake(port, "/ws", { ...auth, origin: "https://APP.example:443" })).status,
    101,
  );
  assert.equal((await handshake(port, "/ws", auth)).status, 101, "no Origin: not a browser");
  const status = await fetch(`${srv.http}/status`, { headers: { origin: "http://evil.example" } });
  await status.body?.cancel();
  assert.equal(status.status, 200, "/status stays open to all");
  const res = await fetch(`${srv.http}/v1/status`, {
    headers: { ...auth, origin: "http://evil.example" },
  });
  assert.equal(res.status, 403);
  assert.match(await res.text(), /Origin "http:\/\/evil.example" is not allowed here/);
});

Deno.test("tokens never reach the log, whatever route or form they came in", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    const config = loadServerConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      MODEL: TINY_MODEL,
      DEVICE: "cpu",
      AUTH_TOKEN: TOKEN,
      IDLE_TIMEOUT_S: "1",
    });
    const { server, engine } = await launchServer(config);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      for (
        const path of [
          `/v1/status?token=${TOKEN}`,
          `/nope?token=${TOKEN}x`,
          `/metrics?token=${TOKEN}`,
        ]
      ) {
        await (await fetch(`${base}${path}`)).body?.cancel();
      }
      // A stream that ends in an error (idle timeout) and one that is refused.
      const ws = await StreamSocket.open(`ws://127.0.0.1:${server.port}/ws`, { token: TOKEN });
      await ws.closed;
      await handshake(server.port, `/ws?token=${TOKEN}y`);
    } finally {
      await server.shutdown();
      await engine.close();
    }
  } finally {
    console.error = original;
  }
  assert.ok(lines.some((l) => l.includes("access: a token is required")), lines.join("\n"));
  assert.ok(lines.length >= 3, "the server did log");
  for (const line of lines) assert.ok(!line.includes(TOKEN), `token in log line: ${line}`);
});

Deno.test("serve refuses to start on an unreadable token file, naming the knob (exit 2)", async () => {
  const out = await runServe({ PORT: "0" }, ["--auth-token-file", "/nonexistent/tokens"]);
  const stderr = out.stderr;
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /AUTH_TOKEN_FILE: cannot read "\/nonexistent\/tokens"/);
});

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const pythonReady = (() => {
  try {
    return new Deno.Command(PYTHON, {
      args: ["-c", "import websockets"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!pythonReady) {
  console.error(
    "seed-client auth test skipped: need .tools/venv-check (bash tests/reference/setup_check_env.sh)",
  );
}

Deno.test({
  name: "the seed-style Python client: 401 without the token, a normal stream with it",
  ignore: !pythonReady,
  fn: async () => {
    await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
    const client = (extra: string[]) =>
      new Deno.Command(PYTHON, {
        args: [
          `${ROOT}tests/reference/seed_client.py`,
          "--url",
          srv.url,
          "--file",
          `${CLIPS_DIR}/digits_pi.wav`,
          "--rtf",
          "10",
          ...extra,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const events = (o: Deno.CommandOutput) =>
      new TextDecoder().decode(o.stdout).trim().split("\n").map((l) => JSON.parse(l));

    const refused = await client([]);
    assert.equal(refused.code, 1);
    assert.deepEqual(events(refused), [{ type: "refused", status: 401 }]);
    const wrong = await client(["--token", "not-it"]);
    assert.deepEqual(events(wrong), [{ type: "refused", status: 401 }]);

    const ok = await client(["--token", TOKEN]);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const e = events(ok);
    assert.ok(e.some((x) => x.type === "partial"), JSON.stringify(e));
    assert.equal(e.filter((x) => x.type === "final").length, 1);
    assert.deepEqual(e.at(-1), { type: "closed", code: 1000 });
  },
});

Deno.test("checkToken: a WebSocket upgrade may carry the token as the openai-insecure-api-key subprotocol", () => {
  const policy = loadAccessPolicy({ authToken: TOKEN, authTokenFile: null, allowedOrigins: null });
  const check = (headers: Record<string, string>, path = "/v1/realtime") => {
    const url = new URL(`http://h${path}`);
    return checkAccess(policy, new Request(url, { headers }), url, false);
  };
  const upgrade = { upgrade: "websocket", connection: "Upgrade" };
  const offer = (p: string) => ({ ...upgrade, "sec-websocket-protocol": p });
  assert.equal(check(offer(`realtime, openai-insecure-api-key.${TOKEN}`)), null);
  assert.match(
    check(offer("realtime, openai-insecure-api-key.nope"))!.headers["www-authenticate"],
    /error="invalid_token"/,
  );
  assert.equal(check(offer("realtime"))?.status, 401, "no key among the subprotocols");
  assert.equal(
    check({ ...offer(`openai-insecure-api-key.${TOKEN}`), authorization: `Bearer ${TOKEN}` })
      ?.status,
    401,
    "a token sent twice is refused",
  );
  assert.equal(
    check(offer(`openai-insecure-api-key.${TOKEN}, openai-insecure-api-key.${TOKEN}`))?.status,
    401,
    "two keys",
  );
  // A plain request is no WebSocket: the header means nothing there.
  assert.equal(
    check({ "sec-websocket-protocol": `openai-insecure-api-key.${TOKEN}` }, "/v1/status")?.status,
    401,
  );
});
