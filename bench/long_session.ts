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
import { wavPcm16Mono16k } from "../src/audio/wav.ts";
import { stopServer } from "../src/bench/server_process.ts";
import { StreamSocket } from "../src/client/stream_socket.ts";
import { startServerProcess } from "./server_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLIPS = ["digits_pi.wav", "seven_eight.wav", "yes_countdown.wav", "six_thousand.wav"];

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
  return wavPcm16Mono16k(Deno.readFileSync(`${ROOT}tests/fixtures/clips/${clip}`), clip);
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
  const socket = await StreamSocket.open(url);
  socket.onMessage(({ text, message: m }) => {
    const minute = Math.floor((Date.now() - t0) / 60_000);
    log.maxBytesByMinute[minute] = Math.max(log.maxBytesByMinute[minute] ?? 0, text.length);
    log.maxMessageBytes = Math.max(log.maxMessageBytes, text.length);
    if (m === null) return;
    if (m.type === "partial") {
      log.partials++;
      log.maxPartialBytesByMinute[minute] = Math.max(
        log.maxPartialBytesByMinute[minute] ?? 0,
        text.length,
      );
      placed.push([Number(m.text_offset ?? 0), String(m.stable)]);
    }
    if (m.type === "segment") log.segments.push(String(m.text));
    if (m.type === "final") {
      const finalText = String(m.text);
      log.final = finalText;
      // Segments restart partials, so only a stream without endpointing is checked here.
      if (log.segments.length === 0) {
        log.misplacedPartials = placed.filter(([at, stable]) =>
          !finalText.slice(at).startsWith(stable)
        ).length;
      }
    }
  });
  const start = performance.now();
  let sent = 0;
  const pause = new Uint8Array(32_000); // 1 s between clips, like pauses between sentences
  for (let k = 0; sent < seconds * 32_000 && socket.isOpen; k++) {
    for (const chunk of [pcmOf(CLIPS[k % CLIPS.length]), pause]) {
      // One clock for the whole session: real time from its first frame.
      const r = await socket.sendPcm(chunk, { rtf: 1, startMs: start, offsetBytes: sent });
      sent += r.bytesSent;
    }
  }
  if (socket.isOpen) socket.sendEos("text");
  await socket.waitFor(() => log.final !== null, 120_000);
  await socket.close();
  return log;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { minutes: { type: "string", default: "30" }, out: { type: "string" } },
  });
  const minutes = Number(values.minutes);
  const server = await startServerProcess({ RIGHT_CONTEXT_MS: "960" });
  const { child, port } = server;
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
  await stopServer(server);
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
