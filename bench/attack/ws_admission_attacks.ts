/** Attacks on the WebSocket upgrade and stream admission: caps, bad handshakes, close codes. */
import { type Attack, closedNear, judge, sleep, spread } from "./attack.ts";
import { fetchFrom } from "./fetch_from.ts";
import { knob } from "./knobs.ts";
import { outcomeLabel, rawRequest, tally } from "./raw_http.ts";
import {
  errorCodes,
  isRefusal,
  openRawWs,
  type RawClient,
  readUntilClosed,
} from "./raw_ws_client.ts";

const KEEPALIVE = '{"type":"keepalive"}';
/** Keepalives are sent this often: well inside any idle limit, so only the policy can close. */
const KEEPALIVE_EVERY_MS = 1_000;
/** How long a refused upgrade may take to be answered. */
const ANSWER_MS = 2_000;
/** Clients of the close-code attack at once, each from its own address. */
const CLOSE_CODE_CLIENTS = 10;
/** The most close-code series /metrics may hold after the attack. */
const CLOSE_CODE_SERIES_LIMIT = 20;

export const keepaliveStreams: Attack = {
  name: "keepalive-only-streams",
  sent: (k) =>
    `${
      Number(k.server.MAX_STREAMS_PER_CLIENT) + k.keepaliveExtra
    } WebSockets from one address sending only {"type":"keepalive"} every ${KEEPALIVE_EVERY_MS} ms (pings answered)`,
  expected: (k) =>
    `MAX_STREAMS_PER_CLIENT = ${k.server.MAX_STREAMS_PER_CLIENT} admitted, the rest HTTP 503; the admitted closed with 1008 idle_timeout at ~IDLE_TIMEOUT_S = ${k.server.IDLE_TIMEOUT_S} s`,
  async run(ctx) {
    const cap = knob(ctx.knobs, "MAX_STREAMS_PER_CLIENT");
    const idleS = knob(ctx.knobs, "IDLE_TIMEOUT_S");
    const source = ctx.address(1);
    const opened: RawClient[] = [];
    const refusals: string[] = [];
    for (let i = 0; i < cap + ctx.knobs.keepaliveExtra; i++) {
      const r = await openRawWs(source, ctx.port);
      if (isRefusal(r)) refusals.push(String(r.status));
      else opened.push(r);
    }
    const outcomes = await Promise.all(opened.map(async (c) => {
      const reading = readUntilClosed(c, (idleS + ctx.knobs.closeSlackS + 1) * 1000, true);
      let done = false;
      reading.finally(() => (done = true));
      while (!done) {
        await c.ws.sendText(KEEPALIVE).catch(() => {});
        await Promise.race([reading, sleep(KEEPALIVE_EVERY_MS)]);
      }
      return await reading;
    }));
    const closes = outcomes.map((o) => o.closedAfterS);
    const observed = {
      admitted: opened.length,
      refused: tally(refusals),
      closeCodes: tally(outcomes.map((o) => String(o.code))),
      errors: tally(outcomes.flatMap((o) => errorCodes(o.texts))),
      closeAfterS: spread(closes.filter((s): s is number => s !== null)),
    };
    return judge(observed, [
      [opened.length === cap, `${opened.length} streams admitted, not ${cap}`],
      [
        refusals.length === ctx.knobs.keepaliveExtra && refusals.every((s) => s === "503"),
        `excess streams got ${
          JSON.stringify(observed.refused)
        }, not ${ctx.knobs.keepaliveExtra} × 503`,
      ],
      [
        outcomes.every((o) => o.code === 1008 && errorCodes(o.texts).includes("idle_timeout")),
        `admitted streams ended with ${JSON.stringify(observed.closeCodes)} ${
          JSON.stringify(observed.errors)
        }, not 1008 idle_timeout`,
      ],
      [
        closes.every((s) => closedNear(s, idleS, ctx.knobs.closeSlackS)),
        `closed at ${JSON.stringify(observed.closeAfterS)} s, not at ~${idleS} s`,
      ],
    ]);
  },
};

/** An upgrade request by hand, with its answer's status. */
function upgradeStatus(
  source: string,
  port: number,
  headers: string,
): Promise<{ status: string; ms: number }> {
  const t0 = performance.now();
  return rawRequest(
    source,
    port,
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\n${headers}\r\n`,
    ANSWER_MS,
  ).then(({ sock, outcome }) => {
    sock.close();
    return { status: outcomeLabel(outcome), ms: Math.round(performance.now() - t0) };
  });
}

export const missingKey: Attack = {
  name: "handshake-without-key",
  sent: () => "GET /ws with Upgrade: websocket and no Sec-WebSocket-Key",
  expected: () => "HTTP 400",
  async run(ctx) {
    const r = await upgradeStatus(ctx.address(1), ctx.port, "");
    return judge(r, [[r.status === "400", `answered ${r.status}, not 400`]]);
  },
};

export const foreignOrigin: Attack = {
  name: "foreign-origin",
  sent: (k) =>
    `a WebSocket upgrade with Origin: https://attacker.example (ALLOWED_ORIGINS=${k.server.ALLOWED_ORIGINS})`,
  expected: () => "HTTP 403",
  async run(ctx) {
    const key = btoa("attack-origin-ky");
    const r = await upgradeStatus(
      ctx.address(1),
      ctx.port,
      `Sec-WebSocket-Key: ${key}\r\nOrigin: https://attacker.example\r\n`,
    );
    return judge(r, [[r.status === "403", `answered ${r.status}, not 403`]]);
  },
};

export const closeCodes: Attack = {
  name: "distinct-close-codes",
  sent: (k) =>
    `${k.closeCodes} WebSockets each closing with its own code (4000…${
      4000 + k.closeCodes - 1
    }), ${CLOSE_CODE_CLIENTS} at a time from ${CLOSE_CODE_CLIENTS} addresses`,
  expected: () => `/metrics holds at most ${CLOSE_CODE_SERIES_LIMIT} close-code series`,
  async run(ctx) {
    const statuses: string[] = [];
    const codes = Array.from({ length: ctx.knobs.closeCodes }, (_, i) => 4000 + i);
    await Promise.all(Array.from({ length: CLOSE_CODE_CLIENTS }, async (_, lane) => {
      for (let i = lane; i < codes.length; i += CLOSE_CODE_CLIENTS) {
        const c = await openRawWs(ctx.address(lane + 1), ctx.port);
        if (isRefusal(c)) {
          statuses.push(String(c.status));
          continue;
        }
        statuses.push("101");
        const payload = new Uint8Array([codes[i] >> 8, codes[i] & 255]);
        await c.ws.sendFrame(0x8, payload).catch(() => {});
        await readUntilClosed(c, ANSWER_MS, false);
      }
    }));
    const metrics = await fetchFrom(
      ctx.address(CLOSE_CODE_CLIENTS + 1),
      `http://127.0.0.1:${ctx.port}/metrics`,
    );
    const series =
      metrics.body.split("\n").filter((l) => /^parakeet_ws_closes_total\{/.test(l)).length;
    const observed = { upgrades: tally(statuses), closeCodeSeries: series };
    return judge(observed, [
      [
        statuses.every((s) => s === "101"),
        `upgrades answered ${JSON.stringify(observed.upgrades)}`,
      ],
      [
        series <= CLOSE_CODE_SERIES_LIMIT,
        `${series} close-code series in /metrics, over ${CLOSE_CODE_SERIES_LIMIT}`,
      ],
    ]);
  },
};
