import assert from "node:assert/strict";
import { coveredAudioMs, partialLatencyMs, SendLog } from "../../src/client/coverage.ts";
import { percentile, summarize } from "../../src/client/latency_stats.ts";
import { LiveLine, tailToWidth } from "../../src/client/live_line.ts";
import { frameDueMs } from "../../src/client/pacing.ts";
import { floatToPcm16, frameBytesFor, toneSamples } from "../../src/client/pcm.ts";
import { RampSearch } from "../../src/bench/ramp.ts";
import { httpUrlFor, parseWsUrl } from "../../src/client/server_url.ts";
import { phaseHeld, type PhaseReport } from "../../src/bench/phase.ts";

Deno.test("floatToPcm16 writes little-endian int16, clips and rounds", () => {
  const pcm = floatToPcm16(new Float32Array([0, 1, -1, 2, -2, 0.5]));
  const v = new DataView(pcm.buffer);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => v.getInt16(i * 2, true)), [
    0,
    32767,
    -32768,
    32767,
    -32768,
    16384,
  ]);
});

Deno.test("toneSamples and frameBytesFor give 16 kHz sizes", () => {
  assert.equal(toneSamples(0.5).length, 8000);
  assert.equal(frameBytesFor(20), 640);
  assert.equal(frameBytesFor(0.01), 2); // never an odd or empty frame
});

Deno.test("frameDueMs paces a frame at the end of the audio it holds", () => {
  assert.equal(frameDueMs(100, 640, 1), 120); // 20 ms of audio at real time
  assert.equal(frameDueMs(100, 640, 10), 102);
  assert.equal(frameDueMs(100, 640, 0), 100); // unpaced
});

Deno.test("percentile is nearest-rank; summarize rounds and handles empty samples", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 95), 95);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), null);
  assert.throws(() => percentile(xs, 101), /0–100, got 101/);
  assert.deepEqual(summarize([3, 1, 2]), { count: 3, mean: 2, p50: 2, p95: 3, p99: 3, max: 3 });
  assert.deepEqual(summarize([]), {
    count: 0,
    mean: null,
    p50: null,
    p95: null,
    p99: null,
    max: null,
  });
});

/** A log of 20 ms frames sent exactly on time from t = 0 (frame ending at byte b at b/32 ms). */
function realTimeLog(ms: number): SendLog {
  const log = new SendLog();
  for (let t = 20; t <= ms; t += 20) log.add(t * 32, t);
  return log;
}

const KNOBS = { stepMs: 240, rightContextMs: 160 };

Deno.test("SendLog.sentAt finds the frame that completed a byte", () => {
  const log = realTimeLog(100);
  assert.equal(log.sentAt(1), 20);
  assert.equal(log.sentAt(640), 20);
  assert.equal(log.sentAt(641), 40);
  assert.equal(log.sentAt(3200), 100);
  assert.equal(log.sentAt(3201), Infinity);
});

Deno.test("coveredAudioMs locates the step from the last word's end", () => {
  const log = realTimeLog(3000);
  // A word ending at 0.56 s: its last token is at ≤ 0.48 s, in chunk 2 [480, 720): the step
  // waits for 720 + 160 = 880 ms of audio.
  assert.equal(coveredAudioMs(KNOBS, log, 900, 0.56), 880);
  const { latencyMs, coveredMs } = partialLatencyMs(KNOBS, log, 930, 0.56);
  assert.equal(coveredMs, 880);
  assert.equal(latencyMs, 50);
  // Arriving before that audio was sent, it must come from an earlier step.
  assert.equal(coveredAudioMs(KNOBS, log, 700, 0.56), 640);
});

Deno.test("coveredAudioMs without word times takes the newest step already sent", () => {
  const log = realTimeLog(1000); // 1000 ms sent: steps end at 400, 640, 880
  assert.equal(coveredAudioMs(KNOBS, log, 1000, null), 880);
  assert.equal(coveredAudioMs(KNOBS, log, 700, null), 640);
  // Less audio than the first step needs (an utterance cut short): all of it.
  assert.equal(coveredAudioMs(KNOBS, realTimeLog(200), 300, null), 200);
});

Deno.test("RampSearch doubles, then bisects to 10%, within its phase budget", () => {
  const tried: number[] = [];
  const s = new RampSearch({ start: 1, max: 256, maxPhases: 20 });
  for (let n = s.next(); n !== null; n = s.next()) {
    tried.push(n);
    s.record(n, n <= 37);
  }
  assert.deepEqual(tried.slice(0, 7), [1, 2, 4, 8, 16, 32, 64]);
  assert.ok(s.best >= 34 && s.best <= 37, `best ${s.best}`);
  assert.ok((s.firstFailure ?? 0) - s.best <= 3);

  const capped = new RampSearch({ start: 4, max: 10, maxPhases: 20 });
  const seen: number[] = [];
  for (let n = capped.next(); n !== null; n = capped.next()) {
    seen.push(n);
    capped.record(n, true);
  }
  assert.deepEqual(seen, [4, 8, 10]);

  const budget = new RampSearch({ start: 1, max: 1024, maxPhases: 3 });
  let phases = 0;
  for (let n = budget.next(); n !== null; n = budget.next()) {
    phases++;
    budget.record(n, true);
  }
  assert.equal(phases, 3);
  assert.throws(() => new RampSearch({ start: 5, max: 4, maxPhases: 1 }), /start 5, max 4/);
});

Deno.test("RampSearch with a precision of 1 bisects to the last stream", () => {
  const tenPercent = new RampSearch({ start: 1, max: 256, maxPhases: 20 });
  const exact = new RampSearch({ start: 1, max: 256, maxPhases: 20, precision: 1 });
  for (const s of [tenPercent, exact]) {
    for (let n = s.next(); n !== null; n = s.next()) s.record(n, n <= 37);
  }
  assert.ok(tenPercent.firstFailure! - tenPercent.best > 1, "10% stops short of one stream");
  assert.equal(exact.best, 37);
  assert.equal(exact.firstFailure, 38);
  assert.throws(
    () => new RampSearch({ start: 1, max: 4, maxPhases: 1, precision: 0 }),
    /precision must be a whole number of streams ≥ 1, got 0/,
  );
});

Deno.test("parseWsUrl accepts ws/wss and names a bad value; httpUrlFor maps the scheme", () => {
  assert.equal(parseWsUrl("ws://127.0.0.1:8000/ws").port, "8000");
  assert.throws(() => parseWsUrl("http://x/ws"), /must start with ws:\/\/ or wss:\/\/, got "http/);
  assert.throws(() => parseWsUrl("not a url"), /WebSocket URL .* got "not a url"/);
  assert.equal(
    httpUrlFor(parseWsUrl("wss://h:9/ws?x=1"), "/v1/status").href,
    "https://h:9/v1/status",
  );
});

Deno.test("LiveLine rewrites one line on a terminal and prints lines elsewhere", () => {
  const sink = () => {
    const chunks: string[] = [];
    return {
      chunks,
      writeSync: (p: Uint8Array) => (chunks.push(new TextDecoder().decode(p)), p.length),
      isTerminal: () => false,
    };
  };
  const tty = sink();
  const a = new LiveLine(tty, { tty: true, width: 40 });
  a.update("one");
  a.update("one two");
  a.print("final: one two");
  assert.equal(tty.chunks.join(""), "\r\x1b[2Kone\r\x1b[2Kone two\r\x1b[2Kfinal: one two\n");
  const pipe = sink();
  const b = new LiveLine(pipe);
  b.update("one");
  b.print("final: one");
  b.done();
  assert.equal(pipe.chunks.join(""), "one\nfinal: one\n");
  assert.equal(tailToWidth("abcdefgh", 5), "…efgh");
  assert.equal(tailToWidth("abc", 5), "abc");
});

Deno.test("phaseHeld judges errors, closes and p95 against the target", () => {
  const base = {
    connect_failures: { count: 0, first: null },
    errors: {},
    abnormal_streams: 0,
    partials: 10,
    partial_latency_ms: { count: 10, mean: 1, p50: 1, p95: 300, p99: 1, max: 1 },
    eos_to_final_ms: { count: 1, mean: 1, p50: 1, p95: 50, p99: 1, max: 1 },
  } as unknown as PhaseReport;
  assert.equal(phaseHeld(base, 340).held, true);
  assert.match(phaseHeld(base, 200).why, /partial p95 300 ms > 200 ms/);
  assert.match(phaseHeld({ ...base, errors: { rate_exceeded: 2 } }, 340).why, /2 server error/);
  assert.equal(phaseHeld({ ...base, partials: 0 }, 100).held, true); // EOS → final 50 ms
  // Partials on time but finals behind: a server with a backlog whose partials are few.
  const late = { ...base, eos_to_final_ms: { ...base.eos_to_final_ms, p95: 5000 } };
  assert.equal(phaseHeld(late, 340).held, false);
  assert.match(phaseHeld(late, 340).why, /EOS → final p95 5000 ms > 340 ms/);
  assert.match(phaseHeld(base, 340).why, /partial p95 300 ms, EOS → final p95 50 ms ≤ 340 ms/);
  // No final in the phase: the partials alone decide; nothing at all measured is a miss.
  const noFinals = { ...base, eos_to_final_ms: { ...base.eos_to_final_ms, count: 0, p95: null } };
  assert.equal(phaseHeld(noFinals as PhaseReport, 340).held, true);
  assert.match(phaseHeld({ ...noFinals, partials: 0 } as PhaseReport, 340).why, /no latency/);
});
