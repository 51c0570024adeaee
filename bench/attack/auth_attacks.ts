/** Attacks on access control, against a server started with AUTH_TOKEN. */
import { type Attack, judge, secs } from "./attack.ts";
import { fetchFrom } from "./fetch_from.ts";
import { outcomeLabel, rawRequest } from "./raw_http.ts";

/** How long the 401 to a large unauthenticated POST, and the close after it, may take. */
const REFUSE_MS = 2_000;

export const wrongTokens: Attack = {
  name: "wrong-token-brute-force",
  needsAuthServer: true,
  sent: (k) =>
    `${k.bruteForceAttempts} requests to /v1/status from one address, each with another wrong token`,
  expected: () =>
    "401 at first, then 429 once the failure limit is reached (and from then on); never 200",
  async run(ctx) {
    const statuses: number[] = [];
    for (let i = 0; i < ctx.knobs.bruteForceAttempts; i++) {
      const r = await fetchFrom(ctx.address(1), `http://127.0.0.1:${ctx.port}/v1/status`, {
        headers: { authorization: `Bearer wrong-token-${i}` },
      }, 5_000);
      statuses.push(r.status);
    }
    const first429 = statuses.indexOf(429);
    const observed = {
      first: statuses[0],
      first429AtAttempt: first429 < 0 ? null : first429 + 1,
      counts: Object.fromEntries(
        [...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]),
      ),
    };
    return judge(observed, [
      [statuses[0] === 401, `the first wrong token got ${statuses[0]}, not 401`],
      [first429 > 0, `no 429 in ${statuses.length} attempts`],
      [
        first429 < 0 || statuses.slice(first429).every((s) => s === 429),
        "429 did not last once reached",
      ],
      [!statuses.includes(200), "a wrong token got 200"],
    ]);
  },
};

export const unauthenticatedLargePost: Attack = {
  name: "unauthenticated-large-post",
  needsAuthServer: true,
  sent: () =>
    "POST /v1/audio/transcriptions with no token declaring Content-Length: 100 MiB, then no body",
  expected: () => `401 within ${REFUSE_MS} ms and the connection closed without the body read`,
  async run(ctx) {
    const t0 = performance.now();
    const { sock, outcome } = await rawRequest(
      ctx.address(1),
      ctx.port,
      "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 104857600\r\n\r\n",
      REFUSE_MS,
    );
    const closed = await sock.waitForEnd(REFUSE_MS);
    sock.close();
    const observed = {
      status: outcomeLabel(outcome),
      answeredAfterS: typeof outcome === "string" ? null : secs(outcome.at - t0),
      closedAfterS: closed && sock.peerClosedAt !== null ? secs(sock.peerClosedAt - t0) : null,
    };
    return judge(observed, [
      [observed.status === "401", `answered ${observed.status}, not 401`],
      [closed, `the connection stayed open ${REFUSE_MS} ms after the answer, waiting for the body`],
    ]);
  },
};
