/**
 * Long session: two streams of the same continuous speech at real time, one with endpointing
 * and one without, for `--minutes` (default 30), against a real server process. Samples the
 * server's RSS and the size of the largest message each stream received; checks that both
 * finals are equal (endpointing never changes decoding) and that the segments join to the final.
 *
 *   deno run -A bench/long_session.ts [--minutes 30] [--out bench/results/long-session-….json]
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { startServerProcess } from "./server_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLIPS = ["digits_pi.wav", "seven_eight.wav", "yes_countdown.wav", "six_thousand.wav"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StreamLog {
  segments: string[];
  final: string | null;
  partials: number;
  maxMessageBytes: number;
  /** [minute, largest message in that minute] */
  maxBytesByMinute: number[];
  /** Partials only (the final carries the whole utterance once). */
  maxPartialBytesByMinute: number[];
  /** Partials whose stable text is not at `text_offset` of the final text. */
  misplacedPartials: number;
}

function pcmOf(clip: string): Uint8Array {
  return Deno.readFileSync(`${ROOT}tests/fixtures/clips/${clip}`).subarray(44);
}

async function stream(url: string, seconds: number, t0: number): Promise<StreamLog> {
  const log: StreamLog = {
    segments: [],
    final: null,
    partials: 0,
    maxMessageBytes: 0,
    maxBytesByMinute: [],
    maxPartialBytesByMinute: [],
    misplacedPartials: 0,
  };
  const placed: [number, string][] = [];
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const gotFinal = Promise.withResolvers<void>();
  ws.onmessage = (e) => {
    const text = e.data as string;
    const minute = Math.floor((Date.now() - t0) / 60_000);
    log.maxBytesByMinute[minute] = Math.max(log.maxBytesByMinute[minute] ?? 0, text.length);
    log.maxMessageBytes = Math.max(log.maxMessageBytes, text.length);
    const m = JSON.parse(text);
    if (m.type === "partial") {
      log.partials++;
      log.maxPartialBytesByMinute[minute] = Math.max(
        log.maxPartialBytesByMinute[minute] ?? 0,
        text.length,
      );
      placed.push([m.text_offset ?? 0, m.stable]);
    }
    if (m.type === "segment") log.segments.push(m.text);
    if (m.type === "final") {
      log.final = m.text;
      // Segments restart partials, so only a stream without endpointing is checked here.
      if (log.segments.length === 0) {
        log.misplacedPartials = placed.filter(([at, stable]) =>
          !m.text.slice(at).startsWith(stable)
        ).length;
      }
      gotFinal.resolve();
    }
  };
  await new Promise((r) => (ws.onopen = r));
  const start = performance.now();
  let sent = 0;
  const pause = new Uint8Array(32_000); // 1 s between clips, like pauses between sentences
  for (let k = 0; sent < seconds * 32_000; k++) {
    for (const chunk of [pcmOf(CLIPS[k % CLIPS.length]), pause]) {
      for (let i = 0; i < chunk.length; i += 640) {
        ws.send(chunk.slice(i, i + 640));
        sent += Math.min(640, chunk.length - i);
        const wait = start + sent / 32 - performance.now();
        if (wait > 0) await sleep(wait);
      }
    }
  }
  ws.send("__CTRL__:EOS");
  await Promise.race([gotFinal.promise, sleep(120_000)]);
  ws.close();
  return log;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { minutes: { type: "string", default: "30" }, out: { type: "string" } },
  });
  const minutes = Number(values.minutes);
  const { child, port } = await startServerProcess({ RIGHT_CONTEXT_MS: "960" });
  const rss: [number, number][] = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const kib = Number(
      Deno.readTextFileSync(`/proc/${child.pid}/status`).match(/VmRSS:\s+(\d+)/)?.[1],
    );
    rss.push([Math.round((Date.now() - t0) / 1000), Math.round(kib / 102.4) / 10]);
  }, 10_000);
  const url = `ws://127.0.0.1:${port}/ws`;
  const [plain, endpointed] = await Promise.all([
    stream(url, minutes * 60, t0),
    stream(`${url}?endpoint_ms=800`, minutes * 60, t0),
  ]);
  clearInterval(sampler);
  child.kill("SIGTERM");
  await child.status;
  const tail = rss.filter(([t]) => t >= (minutes * 60) / 3);
  const result = {
    minutes,
    machine: {
      cores: navigator.hardwareConcurrency,
      os: Deno.osRelease(),
      loadavg: Deno.loadavg(),
    },
    rssMiB: { first: rss[0]?.[1], max: Math.max(...rss.map(([, m]) => m)), last: rss.at(-1)?.[1] },
    rssLastTwoThirdsMinMax: [
      Math.min(...tail.map(([, m]) => m)),
      Math.max(...tail.map(([, m]) => m)),
    ],
    plain: {
      ...plain,
      final: plain.final?.slice(0, 200),
      finalWords: plain.final?.split(" ").length,
    },
    endpointed: {
      ...endpointed,
      segments: endpointed.segments.length,
      final: endpointed.final?.slice(0, 200),
    },
    checks: {
      // PARTIAL_MAX_WORDS: the last minute's partials are no larger than the second minute's.
      partialsBounded: (plain.maxPartialBytesByMinute.at(-1) ?? Infinity) <=
        1.5 * (plain.maxPartialBytesByMinute[1] ?? 0),
      partialsPlacedInFinal: plain.misplacedPartials === 0,
      finalsEqual: plain.final !== null && plain.final === endpointed.final,
      segmentsJoinToFinal: endpointed.segments.join(" ") === endpointed.final,
    },
    rss,
  };
  const out = values.out ??
    `${ROOT}bench/results/long-session-${new Date().toISOString().slice(0, 10)}-${minutes}min.json`;
  await Deno.writeTextFile(out, JSON.stringify(result, null, 1));
  console.log(JSON.stringify({ checks: result.checks, rssMiB: result.rssMiB, out }, null, 1));
}
