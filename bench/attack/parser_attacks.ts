/**
 * Inputs the parsers' fuzz tests found, replayed against a server process: a Host that would
 * move the path, a method Fetch cannot represent, Realtime events whose quoting once ended the
 * process, and a form of more parts than any form has.
 */
import { type Attack, judge } from "./attack.ts";
import { fetchFrom } from "./fetch_from.ts";
import { outcomeLabel, rawRequest } from "./raw_http.ts";
import { isRefusal, openRawWs, readUntilClosed } from "./raw_ws_client.ts";

/** How long an answer that should come at once is waited for. */
const ANSWER_MS = 3_000;
/** How long a Realtime session is read after the hostile events, before the attack closes it. */
const REALTIME_READ_MS = 2_000;
/** Parts in the hostile form: 12 bytes each. */
const TINY_PARTS = 200_000;

async function statusOf(source: string, port: number, request: string): Promise<string> {
  const { sock, outcome } = await rawRequest(source, port, request, ANSWER_MS);
  sock.close();
  return outcomeLabel(outcome);
}

export const hostMovesPath: Attack = {
  name: "host-moves-path",
  sent: () =>
    "GET /ws with Host: x/metrics? (pasted in front of the target it reads as /metrics), and two Host lines",
  expected: () => "HTTP 400 for both, never /metrics' 200",
  async run(ctx) {
    const slash = await statusOf(
      ctx.address(1),
      ctx.port,
      "GET /ws HTTP/1.1\r\nHost: x/metrics?\r\nConnection: close\r\n\r\n",
    );
    const twice = await statusOf(
      ctx.address(2),
      ctx.port,
      "GET /status HTTP/1.1\r\nHost: a\r\nHost: b/metrics?\r\nConnection: close\r\n\r\n",
    );
    return judge({ slash, twice }, [
      [slash === "400", `Host with a path answered ${slash}, not 400`],
      [twice === "400", `two Host lines answered ${twice}, not 400`],
    ]);
  },
};

export const unrepresentableMethod: Attack = {
  name: "unrepresentable-method",
  sent: () => "TRACE / and CONNECT, and a body on `gEt` (which Fetch reads as GET)",
  expected: () => "HTTP 400 for each: answered, not dropped without a word",
  async run(ctx) {
    const requests = {
      trace: "TRACE / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n",
      connect: "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
      get_with_body: "gEt /status HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    };
    const observed: Record<string, string> = {};
    let n = 1;
    for (const [name, request] of Object.entries(requests)) {
      observed[name] = await statusOf(ctx.address(n++), ctx.port, request);
    }
    return judge(
      observed,
      Object.entries(observed).map(([name, s]) => [s === "400", `${name} answered ${s}, not 400`]),
    );
  },
};

export const realtimeHostileValues: Attack = {
  name: "realtime-hostile-values",
  sent: () =>
    'on /v1/realtime: {"type":{"toString":1}}, a type nested 12,000 deep, a session.update whose format.type is such a nest, and a format.type of 1 MB',
  expected: () =>
    "an invalid_value error for each, each under 1 KiB, the session left open (the process lives)",
  async run(ctx) {
    const c = await openRawWs(ctx.address(1), ctx.port, {}, "/v1/realtime");
    if (isRefusal(c)) {
      return judge({ refused: c.status }, [[false, `refused ${c.status}`]]);
    }
    const deep = "[".repeat(12_000) + "]".repeat(12_000);
    const update = (format: string, id: string) =>
      `{"type":"session.update","event_id":"${id}","session":{"type":"transcription","audio":{"input":{"format":${format}}}}}`;
    const events = [
      '{"type":{"toString":1},"event_id":"a1"}',
      `{"type":${deep},"event_id":"a2"}`,
      update(`{"type":{"0":0,"nest":${deep}}}`, "a3"),
      update(`{"type":"${"x".repeat(1 << 20)}"}`, "a4"),
    ];
    for (const e of events) await c.ws.sendText(e).catch(() => {});
    const out = await readUntilClosed(c, REALTIME_READ_MS, true);
    const errors = out.texts.flatMap((t) => {
      const m = JSON.parse(t);
      return m.type === "error" ? [{ ...m.error, bytes: t.length }] : [];
    });
    const ids = ["a1", "a2", "a3", "a4"];
    const answered = ids.map((id) => errors.find((e) => e.event_id === id));
    const observed = {
      errors: answered.map((e) => (e ? `${e.code} (${e.bytes} B)` : "none")),
      server_closed: out.code,
    };
    return judge(observed, [
      ...answered.map((e, i): [boolean, string] => [
        e?.code === "invalid_value" && e.bytes < 1024,
        `${ids[i]}: ${observed.errors[i]}, not invalid_value under 1 KiB`,
      ]),
      [out.code === null, `the server closed the session (${out.code})`],
    ]);
  },
};

export const tinyPartsForm: Attack = {
  name: "form-of-tiny-parts",
  sent: () =>
    `POST /v1/audio/transcriptions, a multipart body of ${
      TINY_PARTS.toLocaleString("en")
    } 12-byte parts`,
  expected: () => "HTTP 400 invalid_body within 3 s",
  async run(ctx) {
    const body = "--b\r\n\r\n\r\nv\r\n".repeat(TINY_PARTS) + "--b--\r\n";
    const r = await fetchFrom(
      ctx.address(1),
      `http://127.0.0.1:${ctx.port}/v1/audio/transcriptions`,
      {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=b" },
        body,
      },
      ANSWER_MS,
    );
    let code = "";
    try {
      code = String(JSON.parse(r.body).error?.code ?? "");
    } catch {
      // not JSON: the check below says what came
    }
    const observed = { status: r.status, code, ms: r.ms };
    return judge(observed, [[
      r.status === 400 && code === "invalid_body",
      `answered ${r.status} ${code || r.body.slice(0, 80)}, not 400 invalid_body`,
    ]]);
  },
};
