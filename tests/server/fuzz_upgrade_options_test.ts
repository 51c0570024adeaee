/**
 * Fuzz of what a client controls in a WebSocket upgrade, above the handshake parser: the query
 * options of `/ws` (`encoding`, `endpoint_ms`) and `/v1/realtime` (`intent`), and the headers
 * the access checks read (`Origin`, `Authorization`, `?token=`, the
 * `openai-insecure-api-key.*` subprotocol). The routes run on requests built in memory: each
 * answer is a named refusal or an admitted stream whose options are in their documented ranges
 * (docs/configuration.md: `endpoint_ms` a whole number from 0 to 60000), never an exception,
 * and no refusal repeats more than a bounded piece of what the client sent.
 */
import assert from "node:assert/strict";
import { takeUpgrade } from "../../src/net/ws_upgrade.ts";
import {
  type AccessPolicy,
  checkAccess,
  loadAccessPolicy,
  parseOrigins,
} from "../../src/server/auth.ts";
import { AccessGate } from "../../src/server/access_gate.ts";
import {
  badEncodingMessage,
  parseEncoding,
  STREAM_ENCODINGS,
} from "../../src/server/stream_encoding.ts";
import { wsRoute } from "../../src/server/ws_route.ts";
import { fuzzStructured } from "../fuzz/json_mutator.ts";
import { mutate, type Rng } from "../fuzz/mutator.ts";
import { fakeCore, fakeRealtimeRoute, ROUTE_CONTEXT, upgradeRequest } from "./route_doubles.ts";

/** Most characters of one client value a refusal may repeat (with the quotes around it). */
const MAX_ECHO = 64;
/** The longest fixed text of any refusal here, plus that echo. */
const MAX_REFUSAL_CHARS = 320;

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const TOKEN = "s3cret-Token_0123456789";

/** A query value: an edge, a near miss of a valid one, a mutation, something long or foreign. */
function queryValue(rng: Rng, valid: readonly string[]): string {
  switch (rng.int(12)) {
    case 0:
      return rng.pick(valid);
    case 1:
      return rng.pick(["", " ", "0", "-0", "+1", "1e3", "0x10", "NaN", "Infinity", "null", "1.5"]);
    case 2:
      return rng.pick(["60000", "60001", "99999", "100000", "000000", "00800", "9".repeat(400)]);
    case 3:
      return rng.pick(["２０", "٣", "8\u0000", "é", "😀", "\ud800", "\u2028", "%", "%zz", "%ff"]);
    case 4:
      return "9".repeat(1 + rng.int(20_000));
    case 5:
      return "x".repeat(1 + rng.int(20_000));
    case 6:
      return "é😀".repeat(1 + rng.int(5000));
    case 7:
      return rng.pick(valid).toUpperCase();
    case 8:
      return ` ${rng.pick(valid)} `;
    case 9: {
      const bytes = mutate(rng, new TextEncoder().encode(rng.pick(valid)));
      return new TextDecoder().decode(bytes);
    }
    case 10:
      return String(rng.int(120_000));
    default:
      return rng.pick(valid) + rng.pick(["&", "#", "=", ";", ",", "\t"]);
  }
}

/** Writes a value into a query: percent-encoded, raw, or half of each. */
function writeValue(rng: Rng, value: string): string {
  const everyByte = () =>
    Array.from(
      new TextEncoder().encode(value),
      (b) => "%" + b.toString(16).padStart(2, "0").toUpperCase(),
    ).join("");
  switch (rng.int(4)) {
    case 0:
      return value;
    case 1:
      return everyByte();
    default:
      // A lone surrogate has no URI form: its bytes (U+FFFD's) are written instead.
      return value.isWellFormed() ? encodeURIComponent(value) : everyByte();
  }
}

const ENCODINGS = [...STREAM_ENCODINGS];
const ENDPOINTS = ["0", "800", "60000", "1", "500"];
const INTENTS = ["transcription", "conversation"];

const OTHER_KEYS = [
  "x",
  "",
  "token",
  "ENCODING",
  "endpoint_ms[]",
  "encoding ",
  "__proto__",
  "k".repeat(300),
];

function queryOf(rng: Rng, options: [key: string, valid: readonly string[]][]): string {
  const parts: string[] = [];
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    const [key, valid]: [string, readonly string[]] = rng.next() < 0.8
      ? rng.pick(options)
      : [rng.pick(OTHER_KEYS), ["1"]];
    parts.push(rng.next() < 0.1 ? key : `${key}=${writeValue(rng, queryValue(rng, valid))}`);
  }
  return parts.join(rng.next() < 0.9 ? "&" : ";");
}

interface Upgrade {
  path: string;
  headers: [string, string][];
}

function upgradeHeaders(rng: Rng): [string, string][] {
  const headers: [string, string][] = [];
  if (rng.next() < 0.9) headers.push(["upgrade", rng.pick(["websocket", "WebSocket", "h2c"])]);
  if (rng.next() < 0.9) headers.push(["connection", "Upgrade"]);
  if (rng.next() < 0.9) headers.push(["sec-websocket-version", rng.pick(["13", "8"])]);
  if (rng.next() < 0.85) headers.push(["sec-websocket-key", rng.next() < 0.9 ? KEY : "short"]);
  if (rng.next() < 0.3) {
    headers.push(["sec-websocket-protocol", rng.pick(["realtime", "x, realtime", "y", " , "])]);
  }
  return headers;
}

function requestOf(u: Upgrade): Request | null {
  try {
    return upgradeRequest(u.path, u.headers);
  } catch {
    return null; // nothing our HTTP layer would have handed a route
  }
}

const show = (u: Upgrade) => `${u.path} ${JSON.stringify(u.headers)}`;

/** Whether a refusal repeats at most MAX_ECHO characters of `value` in one piece. */
function echoBounded(text: string, value: string): boolean {
  if (value.length <= MAX_ECHO) return true;
  return !text.includes(value.slice(0, MAX_ECHO + 1));
}

Deno.test("fuzz: parseEncoding gives a listed encoding or null, and its refusal stays short", async () => {
  await fuzzStructured(
    { seed: 0x454e43, cases: 4000, make: (rng) => queryValue(rng, ENCODINGS) },
    (value) => {
      const parsed = parseEncoding(value);
      if (parsed !== null) {
        assert.ok((STREAM_ENCODINGS as readonly string[]).includes(parsed));
        assert.equal(parsed, value);
        return;
      }
      assert.ok(!(STREAM_ENCODINGS as readonly string[]).includes(value));
      const message = badEncodingMessage(value);
      assert.match(message, /^encoding must be one of pcm_s16le, ogg, webm, mp3/);
      assert.ok(message.length <= MAX_REFUSAL_CHARS, `${message.length} chars`);
      assert.ok(echoBounded(message, value));
    },
  );
  assert.equal(parseEncoding(null), "pcm_s16le");
});

Deno.test("fuzz: /ws query options and headers give a named refusal or a stream in range", async () => {
  const { core, refused, connections, clientSlots } = fakeCore();
  const route = wsRoute(core, ROUTE_CONTEXT, clientSlots);
  const seen = new Map<string, number>();
  await fuzzStructured<Upgrade>({
    seed: 0x57535155,
    cases: 3000,
    make: (rng) => ({
      path: `/ws?${queryOf(rng, [["encoding", ENCODINGS], ["endpoint_ms", ENDPOINTS]])}`,
      headers: upgradeHeaders(rng),
    }),
    show,
  }, async (u) => {
    const req = requestOf(u);
    if (req === null) return;
    const url = new URL(req.url);
    // A compressed encoding would start ffmpeg; its admission is encoded_stream_test.ts's.
    const encoding = url.searchParams.get("encoding");
    if (encoding !== null && encoding !== "pcm_s16le" && parseEncoding(encoding) !== null) return;
    refused.length = 0;
    const res = await route.handle({ req, url, client: "10.0.0.1" });
    const text = await res.text();
    const endpoint = url.searchParams.get("endpoint_ms");
    const endpointOk = endpoint === null ||
      (/^[0-9]+$/.test(endpoint) && Number(endpoint) <= 60_000);
    if (connections.size > 0) {
      assert.equal(res.status, 200, "the upgrade's placeholder answer");
      assert.ok(takeUpgrade(res), "the answer opens a socket");
      assert.equal(refused.length, 0);
      assert.ok(endpointOk, `endpoint_ms ${endpoint} admitted`);
      assert.ok(encoding === null || encoding === "pcm_s16le");
      const [conn] = connections;
      const ms = conn.session.endpointMs;
      assert.ok(Number.isInteger(ms) && ms >= 0 && ms <= 60_000, `endpointMs ${ms}`);
      assert.equal(ms, endpoint === null ? core.config.endpointMs : Number(endpoint));
      conn.release();
      assert.equal(connections.size, 0);
      assert.equal(clientSlots.held("10.0.0.1"), 0);
      seen.set("admitted", (seen.get("admitted") ?? 0) + 1);
      return;
    }
    assert.equal(refused.length, 1, `one refusal counted: ${res.status} ${text}`);
    const reason = refused[0];
    seen.set(reason, (seen.get(reason) ?? 0) + 1);
    assert.ok(text.length <= MAX_REFUSAL_CHARS, `${reason}: ${text.length} chars`);
    for (const [, value] of url.searchParams) assert.ok(echoBounded(text, value), text);
    switch (reason) {
      case "not_websocket":
        assert.equal(res.status, 426);
        assert.notEqual(req.headers.get("upgrade")?.toLowerCase(), "websocket");
        break;
      case "bad_request":
        assert.equal(res.status, 400);
        if (text.startsWith("encoding")) assert.equal(parseEncoding(encoding), null);
        else {
          assert.match(text, /^endpoint_ms must be a whole number of milliseconds from 0 to 60000/);
          // Refused only when out of range, or written with more digits than 60000 has.
          assert.ok(!endpointOk || endpoint!.length > 5, `endpoint_ms ${endpoint} refused`);
        }
        break;
      case "bad_handshake":
        assert.equal(res.status, 400);
        assert.ok(endpointOk);
        break;
      default:
        assert.fail(`unexpected refusal ${reason} (${res.status}): ${text}`);
    }
  });
  for (const outcome of ["admitted", "not_websocket", "bad_request", "bad_handshake"]) {
    assert.ok((seen.get(outcome) ?? 0) > 20, `${outcome}: ${JSON.stringify([...seen])}`);
  }
});

Deno.test("fuzz: /v1/realtime intent and subprotocols give a named refusal or a session", async () => {
  const { route, refused, clientSlots } = fakeRealtimeRoute();
  const seen = new Map<string, number>();
  await fuzzStructured<Upgrade>({
    seed: 0x5254494e,
    cases: 3000,
    make: (rng) => ({
      path: `/v1/realtime?${queryOf(rng, [["intent", INTENTS]])}`,
      headers: upgradeHeaders(rng),
    }),
    show,
  }, async (u) => {
    const req = requestOf(u);
    if (req === null) return;
    const url = new URL(req.url);
    refused.length = 0;
    const res = route.handle(req, url, "10.0.0.2");
    const text = await res.text();
    const intent = url.searchParams.get("intent");
    if (route.size > 0) {
      assert.equal(refused.length, 0);
      assert.ok(intent === null || intent === "transcription", `intent ${intent} admitted`);
      const upgrade = takeUpgrade(res);
      assert.ok(upgrade);
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) =>
        p.trim()
      );
      assert.equal(upgrade.protocol, offered.includes("realtime") ? "realtime" : undefined);
      const [conn] = route.connections;
      conn.release();
      assert.equal(route.size, 0);
      assert.equal(clientSlots.held("10.0.0.2"), 0);
      seen.set("admitted", (seen.get("admitted") ?? 0) + 1);
      return;
    }
    assert.equal(refused.length, 1, `${res.status} ${text}`);
    const reason = refused[0];
    seen.set(reason, (seen.get(reason) ?? 0) + 1);
    assert.ok(text.length <= MAX_REFUSAL_CHARS, `${reason}: ${text.length} chars`);
    for (const [, value] of url.searchParams) assert.ok(echoBounded(text, value), text);
    switch (reason) {
      case "not_websocket":
        assert.equal(res.status, 426);
        break;
      case "bad_request":
        assert.equal(res.status, 400);
        assert.ok(intent !== null && intent !== "transcription");
        break;
      case "bad_handshake":
        assert.equal(res.status, 400);
        break;
      default:
        assert.fail(`unexpected refusal ${reason} (${res.status}): ${text}`);
    }
  });
  for (const outcome of ["admitted", "not_websocket", "bad_request", "bad_handshake"]) {
    assert.ok((seen.get(outcome) ?? 0) > 20, `${outcome}: ${JSON.stringify([...seen])}`);
  }
});

/** A header value a client can send: printable Latin-1 and tabs, no line breaks. */
function headerText(rng: Rng, valid: readonly string[]): string {
  const v = queryValue(rng, valid);
  return Array.from(v, (c) => {
    const code = c.charCodeAt(0);
    return code === 9 || (code >= 0x20 && code < 0x7f) || (code >= 0xa0 && code <= 0xff) ? c : "?";
  }).join("").trim();
}

interface AccessCase {
  path: string;
  headers: [string, string][];
  publicPath: boolean;
}

function accessCase(rng: Rng): AccessCase {
  const headers: [string, string][] = [["host", rng.pick(["127.0.0.1:8000", "h", "h:80"])]];
  if (rng.next() < 0.6) headers.push(["upgrade", "websocket"]);
  if (rng.next() < 0.4) {
    headers.push([
      "authorization",
      rng.next() < 0.5
        ? `${rng.pick(["Bearer", "bearer", "BEARER", "Basic", "Bearer  "])} ${
          rng.next() < 0.5 ? TOKEN : headerText(rng, [TOKEN, "sk-abc"])
        }`
        : headerText(rng, [`Bearer ${TOKEN}`, "Bearer x"]),
    ]);
  }
  if (rng.next() < 0.4) {
    const offered: string[] = [];
    for (let n = rng.int(4); n >= 0; n--) {
      offered.push(
        rng.pick([
          "realtime",
          `openai-insecure-api-key.${TOKEN}`,
          `openai-insecure-api-key.${headerText(rng, ["sk-1", TOKEN])}`,
          "openai-insecure-api-key.",
          headerText(rng, ["x"]),
        ]),
      );
    }
    headers.push(["sec-websocket-protocol", offered.join(rng.pick([",", ", ", " ,"]))]);
  }
  if (rng.next() < 0.4) {
    headers.push([
      "origin",
      rng.next() < 0.5
        ? rng.pick(["https://good.example", "http://127.0.0.1:8000", "null", "http://h", "file://"])
        : headerText(rng, ["https://good.example", "https://evil.example"]),
    ]);
  }
  const tokens: string[] = [];
  for (let n = rng.next() < 0.7 ? 0 : 1 + rng.int(3); n > 0; n--) {
    tokens.push(`token=${writeValue(rng, rng.next() < 0.5 ? TOKEN : queryValue(rng, [TOKEN]))}`);
  }
  const path = rng.pick(["/ws", "/v1/realtime", "/v1/status", "/status", "/"]);
  return {
    path: tokens.length > 0 ? `${path}?${tokens.join("&")}` : path,
    headers,
    publicPath: rng.next() < 0.1,
  };
}

/** Whether the request carries the token once, by one way, as the access rules ask. */
function rightToken(req: Request, url: URL): boolean {
  const header = req.headers.get("authorization");
  const query = url.searchParams.getAll("token");
  const offered = req.headers.get("upgrade")?.toLowerCase() === "websocket"
    ? (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
      .filter((p) => p.startsWith("openai-insecure-api-key."))
      .map((p) => p.slice("openai-insecure-api-key.".length))
    : [];
  const given = [
    ...(header === null ? [] : [header]),
    ...query,
    ...offered,
  ];
  if (given.length !== 1) return false;
  // The scheme in any case, the token exactly.
  if (header !== null) return /^bearer +([^ ]+) *$/i.exec(header)?.[1] === TOKEN;
  return given[0] === TOKEN;
}

Deno.test("fuzz: access checks on upgrades: pass exactly with one right token, refusals never echo it", async () => {
  const policy: AccessPolicy = loadAccessPolicy({
    authToken: TOKEN,
    authTokenFile: null,
    allowedOrigins: "https://good.example",
  });
  assert.deepEqual(policy.origins, parseOrigins("https://good.example"));
  let now = 0;
  const gate = new AccessGate(policy, { maxFailures: 5, log: () => {}, now: () => now });
  const seen = new Map<string, number>();
  await fuzzStructured<AccessCase>({
    seed: 0x41434345,
    cases: 6000,
    make: accessCase,
    show: (c) => `${c.path} ${JSON.stringify(c.headers)}`,
  }, (c) => {
    let req: Request;
    try {
      req = new Request(`http://127.0.0.1:8000${c.path}`, { headers: c.headers });
    } catch {
      return;
    }
    const url = new URL(req.url);
    const refusal = checkAccess(policy, req, url, c.publicPath);
    // Each case from an address of its own, with the limiter's window moved on.
    now += 120_000;
    const gated = gate.check(req, url, `10.1.${now % 256}.${(now >> 8) % 256}`, c.publicPath);
    assert.equal(gated?.status, refusal?.status);
    const open = url.pathname === "/status";
    if (refusal === null) {
      seen.set("passed", (seen.get("passed") ?? 0) + 1);
      assert.ok(open || c.publicPath || rightToken(req, url), "passed without the token");
      const origin = req.headers.get("origin");
      if (open || origin === null) return;
      // A browser page of a listed origin, or of the server itself (the Host it was sent to).
      const page = new URL(origin);
      const self = new URL(`${page.protocol}//${req.headers.get("host")}`);
      assert.ok(page.origin === "https://good.example" || page.origin === self.origin, origin);
      return;
    }
    seen.set(String(refusal.status), (seen.get(String(refusal.status)) ?? 0) + 1);
    assert.ok(!open);
    assert.ok(refusal.status === 401 || refusal.status === 403, String(refusal.status));
    assert.equal(refusal.reason, refusal.status === 401 ? "unauthorized" : "forbidden_origin");
    for (const text of [refusal.message, refusal.detail]) {
      assert.ok(!text.includes(TOKEN), "a token is never repeated");
      assert.ok(text.length <= 400, `${text.length} chars`);
    }
    if (refusal.status === 401) assert.ok(!rightToken(req, url), "refused the right token");
  });
  for (const outcome of ["passed", "401", "403"]) {
    assert.ok((seen.get(outcome) ?? 0) > 50, `${outcome}: ${JSON.stringify([...seen])}`);
  }
});
