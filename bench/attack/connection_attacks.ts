/** Attacks on the connection layer: header timeout, keep-alive timeout, per-address cap. */
import {
  type Attack,
  type AttackContext,
  closedNear,
  judge,
  type Observation,
  secs,
  sleep,
  spread,
} from "./attack.ts";
import { knob } from "./knobs.ts";
import { LoopbackSocket } from "./loopback_socket.ts";
import { outcomeLabel, rawRequest, readResponse, tally } from "./raw_http.ts";

const enc = new TextEncoder();
/** How long a flood connection may wait for its answer before it counts as held. */
const FLOOD_ANSWER_MS = 2_000;

/** Opens `n` connections, one per source address, and returns each with its open time. */
async function openMany(ctx: AttackContext, n: number): Promise<
  { sock: LoopbackSocket; openedAt: number }[]
> {
  return await Promise.all(Array.from({ length: n }, async (_, i) => {
    const sock = await LoopbackSocket.connect(ctx.address(i + 1), ctx.port);
    return { sock, openedAt: performance.now() };
  }));
}

/** Seconds from `from` until the server ended `sock`, waiting at most `limitS`. */
async function secondsToClose(sock: LoopbackSocket, from: number, limitS: number) {
  const ended = await sock.waitForEnd(Math.max(0, from + limitS * 1000 - performance.now()));
  return ended && sock.peerClosedAt !== null ? secs(sock.peerClosedAt - from) : null;
}

/** Checks that every connection closed at ~`limitS` and reports the spread. */
function timedCloses(closes: (number | null)[], limitS: number, slackS: number, what: string) {
  const closed = closes.filter((s): s is number => s !== null);
  const observed = {
    closed: closed.length,
    stillOpen: closes.length - closed.length,
    closeAfterS: spread(closed),
  };
  return judge(observed, [
    [closed.length === closes.length, `${closes.length - closed.length} ${what} never closed`],
    [
      closes.every((s) => closedNear(s, limitS, slackS)),
      `${what} closed at ${JSON.stringify(observed.closeAfterS)} s, not at ~${limitS} s`,
    ],
  ]);
}

export const slowloris: Attack = {
  name: "slowloris",
  sent: (k) =>
    `${k.slowlorisConnections} connections (one source address each) sending one request-header byte per second`,
  expected: (k) => `each closed at ~HEADER_TIMEOUT_S = ${k.server.HEADER_TIMEOUT_S} s`,
  async run(ctx) {
    const limitS = knob(ctx.knobs, "HEADER_TIMEOUT_S");
    const waitS = limitS + ctx.knobs.closeSlackS + 1;
    const conns = await openMany(ctx, ctx.knobs.slowlorisConnections);
    const head = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    const statuses: string[] = [];
    const closes = await Promise.all(conns.map(async ({ sock, openedAt }) => {
      const drip = (async () => {
        for (let i = 0; i < waitS && !sock.isEnded; i++) {
          const byte = i < head.length ? head[i] : "a";
          await sock.write(enc.encode(byte)).catch(() => {});
          await Promise.race([sock.ended, sleep(1000)]);
        }
      })();
      const s = await secondsToClose(sock, openedAt, waitS);
      await drip;
      // A 408 before the close is polite, not required: note what came.
      const r = await readResponse(sock, 0);
      statuses.push(outcomeLabel(r));
      sock.close();
      return s;
    }));
    const o = timedCloses(closes, limitS, ctx.knobs.closeSlackS, "slow connections");
    o.observed.answers = tally(statuses);
    return o;
  },
};

export const idleTcp: Attack = {
  name: "idle-tcp",
  sent: (k) => `${k.idleConnections} bare TCP connections that send nothing`,
  expected: (k) => `each closed at ~HEADER_TIMEOUT_S = ${k.server.HEADER_TIMEOUT_S} s`,
  async run(ctx) {
    const limitS = knob(ctx.knobs, "HEADER_TIMEOUT_S");
    const conns = await openMany(ctx, ctx.knobs.idleConnections);
    const closes = await Promise.all(conns.map(async ({ sock, openedAt }) => {
      const s = await secondsToClose(sock, openedAt, limitS + ctx.knobs.closeSlackS + 1);
      sock.close();
      return s;
    }));
    return timedCloses(closes, limitS, ctx.knobs.closeSlackS, "idle connections");
  },
};

export const idleKeepAlive: Attack = {
  name: "idle-keepalive",
  sent: (k) => `${k.idleConnections} HTTP/1.1 keep-alive connections idle after one GET /status`,
  expected: (k) =>
    `each closed at ~KEEPALIVE_TIMEOUT_S = ${k.server.KEEPALIVE_TIMEOUT_S} s after its response`,
  async run(ctx) {
    const limitS = knob(ctx.knobs, "KEEPALIVE_TIMEOUT_S");
    const answers: string[] = [];
    const closes = await Promise.all(
      Array.from({ length: ctx.knobs.idleConnections }, async (_, i) => {
        const { sock, outcome } = await rawRequest(
          ctx.address(i + 1),
          ctx.port,
          "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
          FLOOD_ANSWER_MS,
        );
        answers.push(outcomeLabel(outcome));
        const from = typeof outcome === "string" ? performance.now() : outcome.at;
        const s = await secondsToClose(sock, from, limitS + ctx.knobs.closeSlackS + 1);
        sock.close();
        return s;
      }),
    );
    const o = timedCloses(closes, limitS, ctx.knobs.closeSlackS, "idle keep-alive connections");
    o.observed.answers = tally(answers);
    if (!answers.every((a) => a === "200")) {
      o.pass = false;
      o.failure = [o.failure, `GET /status answered ${JSON.stringify(tally(answers))}`]
        .filter(Boolean).join("; ");
    }
    return o;
  },
};

export const connectionFlood: Attack = {
  name: "connection-flood",
  sent: (k) =>
    `${
      Number(k.server.MAX_CONNECTIONS_PER_CLIENT) + k.floodExtra
    } connections at once from one address, each sending GET /status and holding on; then one GET /status from another address`,
  expected: (k) =>
    `at most MAX_CONNECTIONS_PER_CLIENT = ${k.server.MAX_CONNECTIONS_PER_CLIENT} answered 200, the rest refused (503 or closed), none held; the other address answered 200`,
  async run(ctx): Promise<Observation> {
    const cap = knob(ctx.knobs, "MAX_CONNECTIONS_PER_CLIENT");
    const total = cap + ctx.knobs.floodExtra;
    const source = ctx.address(1);
    const results = await Promise.all(Array.from({ length: total }, async () => {
      try {
        return await rawRequest(
          source,
          ctx.port,
          "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
          FLOOD_ANSWER_MS,
        );
      } catch {
        return { sock: null, outcome: "closed" as const };
      }
    }));
    const labels = results.map((r) => outcomeLabel(r.outcome));
    const admitted = labels.filter((l) => l === "200").length;
    const refused = labels.filter((l) => l === "503" || l === "closed").length;
    const held = labels.filter((l) => l === "timeout").length;
    // While the flood holds its connections, another address must still be served.
    const probe = await rawRequest(
      ctx.address(2),
      ctx.port,
      "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      FLOOD_ANSWER_MS,
    );
    probe.sock.close();
    for (const r of results) r.sock?.close();
    const observed = {
      connections: total,
      answered200: admitted,
      refused,
      held,
      answers: tally(labels),
      otherAddress: outcomeLabel(probe.outcome),
    };
    return judge(observed, [
      [admitted <= cap, `${admitted} connections served, over the cap of ${cap}`],
      [refused >= total - cap, `only ${refused} of ${total - cap} excess connections refused`],
      [held === 0, `${held} connections held without an answer for ${FLOOD_ANSWER_MS} ms`],
      [observed.otherAddress === "200", `another address got ${observed.otherAddress}`],
    ]);
  },
};
