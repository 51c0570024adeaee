/**
 * Access policy against a real server: wrong-token guessing is limited per address and logged
 * once, refusals never wait for a body, /v1/status keeps paths to token holders, and a page of
 * another origin cannot use the server (cross-site WebSocket hijacking) unless allowed.
 */
import assert from "node:assert/strict";
import { TINY_MODEL } from "../engine/fixtures.ts";
import { handshakeFrom, requestFrom } from "./from_address.ts";
import { startTestServer } from "./harness.ts";

const TOKEN = "brute-force-target_0123456789";

/** The real server with its log lines kept. */
function startLogged(knobs: Record<string, string> = {}) {
  return startTestServer(knobs);
}

function get(from: string, port: number, path: string, headers: Record<string, string> = {}) {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return requestFrom(
    from,
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`,
  );
}

Deno.test("token guessing: 429 with Retry-After after AUTH_MAX_FAILURES, per address, logged once", async () => {
  await using srv = await startLogged({ AUTH_TOKEN: TOKEN, AUTH_MAX_FAILURES: "5" });
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 8; i++) {
    const r = await get("127.0.0.1", srv.port, "/v1/status", {
      authorization: `Bearer guess-${i}`,
    });
    statuses.push(r.status);
    retryAfter = r.header("retry-after") ?? retryAfter;
    assert.equal(r.header("connection"), "close", r.head);
    r.close();
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);

  // Blocked means not compared: the right token gets 429 too, on every route that needs one.
  const right = { authorization: `Bearer ${TOKEN}` };
  const withToken = await get("127.0.0.1", srv.port, "/v1/status", right);
  assert.equal(withToken.status, 429);
  withToken.close();
  const upgrade = await handshakeFrom("127.0.0.1", srv.port, "/ws", right);
  assert.equal(upgrade.status, 429);
  upgrade.close();
  // Another address is not affected.
  const other = await get("127.0.0.2", srv.port, "/v1/status", right);
  assert.equal(other.status, 200, other.head);
  other.close();
  assert.equal(srv.server.stats().refused.auth_rate_limited, 5);
  assert.equal(srv.server.stats().refused.unauthorized, 5);

  const refusals = srv.lines.filter((l) => l.startsWith("access refused"));
  assert.deepEqual(refusals, ["access refused (401): 127.0.0.1 GET /v1/status: wrong token"]);
  for (const line of srv.lines) {
    assert.ok(!line.includes("guess-") && !line.includes(TOKEN), `a token in the log: ${line}`);
  }
});

Deno.test("a POST refused for its token is answered before its body is sent, with Connection: close", async () => {
  await using srv = await startLogged({ AUTH_TOKEN: TOKEN });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  try {
    const declared = 100 * 1024 * 1024;
    const head = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
      `Authorization: Bearer wrong-token\r\n` +
      `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ${declared}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(64 * 1024)); // a sliver of the declared 100 MiB
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = setTimeout(() => conn.close(), 10_000);
    try {
      while (!text.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    // The answer came while 99.9 % of the body was never sent: nothing waited for it.
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.match(
      text,
      /\r\nwww-authenticate: Bearer realm="parakeet-server", error="invalid_token"/i,
    );
    // And the server ends the connection without waiting for the rest of the body.
    const t0 = performance.now();
    const closer = setTimeout(() => conn.close(), 5_000);
    let closedByServer = false;
    try {
      while ((await conn.read(buf)) !== null) { /* the answer's body */ }
      closedByServer = true;
    } catch {
      // closed by our own deadline
    } finally {
      clearTimeout(closer);
    }
    assert.ok(closedByServer, "the server closed the connection");
    assert.ok(performance.now() - t0 < 3_000, "within a short linger, not after the body");
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }
  assert.equal(srv.server.stats().refused.unauthorized, 1);
});

Deno.test("/v1/status: the model's directory name for all, its full path only with a token", async () => {
  const parent = TINY_MODEL.replace(/\/+$/, "").split("/").slice(0, -1).join("/");
  {
    await using open = await startLogged();
    const body = await (await fetch(`${open.http}/v1/status`)).json();
    assert.equal(body.model.dir, "tiny-tdt");
    assert.ok(!JSON.stringify(body).includes(parent), "no path anywhere in the answer");
  }
  {
    await using guarded = await startLogged({ AUTH_TOKEN: TOKEN });
    const res = await fetch(`${guarded.http}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = await res.json();
    assert.ok(body.model.dir.startsWith(parent), body.model.dir);
    assert.ok(body.model.dir.replace(/\/+$/, "").endsWith("/tiny-tdt"), body.model.dir);
  }
});

Deno.test("default Origin policy: a foreign page gets 403; same origin, no Origin and allowed ones pass", async () => {
  await using srv = await startLogged();
  const port = srv.port;
  const own = `http://127.0.0.1:${port}`;
  const upgrade = async (headers: Record<string, string>) => {
    const h = await handshakeFrom("127.0.0.1", port, "/ws", headers);
    h.close();
    return h;
  };
  const hijack = await upgrade({ origin: "https://evil.example" });
  assert.equal(hijack.status, 403, "cross-site WebSocket hijacking");
  assert.equal(hijack.header("connection"), "close");
  assert.equal((await upgrade({ origin: `http://127.0.0.1:${port + 1}` })).status, 403, "port");
  assert.equal((await upgrade({ origin: "null" })).status, 403, "sandboxed or file: pages");
  assert.equal((await upgrade({ origin: own })).status, 101, "the demo page: same origin");
  assert.equal((await upgrade({})).status, 101, "no Origin: a CLI or SDK");
  // The other routes too: a foreign page can neither read the status nor upload.
  const status = await get("127.0.0.1", port, "/v1/status", { origin: "https://evil.example" });
  status.close();
  assert.equal(status.status, 403);
  const upload = await requestFrom(
    "127.0.0.1",
    port,
    `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      `Origin: https://evil.example\r\nContent-Length: 1000000\r\n\r\n`,
  );
  upload.close();
  assert.equal(upload.status, 403);
  assert.equal(srv.server.stats().refused.forbidden_origin, 5);
  assert.ok(
    srv.lines.some((l) =>
      l === 'access refused (403): 127.0.0.1 GET /ws: origin "https://evil.example" not allowed'
    ),
    srv.lines.join("\n"),
  );
});

Deno.test("ALLOWED_ORIGINS adds origins to the server's own; * allows any", async () => {
  {
    await using srv = await startLogged({ ALLOWED_ORIGINS: "https://app.example" });
    const status = async (origin: string) => {
      const h = await handshakeFrom("127.0.0.1", srv.port, "/ws", { origin });
      h.close();
      return h.status;
    };
    assert.equal(await status("https://app.example"), 101);
    assert.equal(await status(`http://127.0.0.1:${srv.port}`), 101, "its own still");
    assert.equal(await status("https://evil.example"), 403);
  }
  {
    await using srv = await startLogged({ ALLOWED_ORIGINS: "*" });
    const h = await handshakeFrom("127.0.0.1", srv.port, "/ws", {
      origin: "https://evil.example",
    });
    h.close();
    assert.equal(h.status, 101);
    assert.ok(srv.lines.some((l) => l.includes("any web origin may connect")));
  }
});
