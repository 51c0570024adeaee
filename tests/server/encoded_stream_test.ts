/**
 * `/ws?encoding=ogg|webm|mp3`: compressed audio decoded by one ffmpeg process per stream. The
 * recordings are made here by ffmpeg from the fixture clips; the finals are compared with the
 * same clips streamed as raw PCM.
 */
import assert from "node:assert/strict";
import { ffmpegStreamArgs, STREAM_CODECS } from "../../src/audio/ffmpeg_stream.ts";
import { startsAsContainer } from "../../src/server/first_frame.ts";
import { childrenNamed, running, waitFor } from "../audio/proc_children.ts";
import { clipPcmBytes, CLIPS_DIR } from "../engine/fixtures.ts";
import { connect, record, startTestServer, streamAudio } from "./harness.ts";
import { spawnServe } from "./serve_process.ts";
import { wsRoute } from "../../src/server/ws_route.ts";
import { fakeCore, ROUTE_CONTEXT, upgradeRequest } from "./route_doubles.ts";

/**
 * Four of the fixture clips (the test runs each three ways plus twice as PCM): the two where
 * MP3 changed most words when all eight were measured, and two where Opus changed one.
 */
const CLIPS = ["digits_pi.wav", "six_thousand.wav", "seven_eight.wav", "no_eight.wav"];
/** How each container is made: Opus at 32 kb/s as a browser would send it, MP3 at 64 kb/s. */
const ENCODERS = {
  webm: ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"],
  ogg: ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
  mp3: ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
} as const;
type Container = keyof typeof ENCODERS;
const CONTAINERS = Object.keys(ENCODERS) as Container[];

async function ffmpegEncode(args: string[]): Promise<Uint8Array> {
  const r = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-loglevel", "error", ...args, "pipe:1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return r.stdout;
}

const encoded = async (clip: string, c: Container) =>
  await ffmpegEncode(["-i", `${CLIPS_DIR}/${clip}`, ...ENCODERS[c]]);

/** A recording decoded offline by the same ffmpeg command line a stream's decoder runs. */
async function decodedOffline(bytes: Uint8Array, c: Container): Promise<Uint8Array> {
  const child = new Deno.Command("ffmpeg", {
    args: ffmpegStreamArgs(c, 3600),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(bytes);
  await w.close();
  const r = await child.output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return r.stdout;
}

/** Word-level edit distance (substitutions, insertions, deletions). */
function wordEdits(a: string, b: string): number {
  const x = a.split(" ").filter(Boolean);
  const y = b.split(" ").filter(Boolean);
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[y.length];
}

/**
 * Lossy coding changes the samples, and the tiny test model (which gets only some digits of
 * the clips right from the PCM itself) hears some words differently: at most this many word
 * edits per clip between a recording's final and the original PCM's. Measured on all eight
 * fixture clips: Opus 0 or 1, MP3 1 to 3 (MP3 at 16 kHz is the coarser codec). What the
 * stream itself must not change is checked exactly: the final equals that of the same decoded samples.
 */
const MAX_WORD_EDITS: Record<Container, number> = { webm: 1, ogg: 1, mp3: 3 };

const noFfmpegLeft = () => childrenNamed(Deno.pid, "ffmpeg").length === 0 ? true : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = (s: string) => new TextEncoder().encode(s);

/** An upgrade request that stops at the admission (the refusals come before the handshake). */
async function refusal(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { headers: { upgrade: "websocket", connection: "Upgrade" } });
  return { status: r.status, text: await r.text() };
}

Deno.test("a compressed stream's ffmpeg reads only the declared container, from a pipe, with speech codecs only", () => {
  const at = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  for (const [c, demuxer] of [["ogg", "ogg"], ["webm", "matroska"], ["mp3", "mp3"]] as const) {
    const args = ffmpegStreamArgs(c, 60);
    assert.equal(at(args, "-f"), demuxer);
    assert.ok(args.indexOf("-f") < args.indexOf("-i"), "-f is an input option");
    assert.equal(at(args, "-protocol_whitelist"), "pipe");
    assert.equal(at(args, "-codec_whitelist"), STREAM_CODECS);
    assert.equal(at(args, "-i"), "pipe:0");
    assert.equal(at(args, "-t"), "61");
    assert.equal(args[args.length - 1], "pipe:1");
  }
  assert.ok(startsAsContainer("ogg", enc("OggS\0\x02")));
  assert.ok(startsAsContainer("webm", new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1])));
  assert.ok(startsAsContainer("mp3", enc("ID3\x04")));
  assert.ok(startsAsContainer("mp3", new Uint8Array([0xff, 0xfb, 0x90, 0x64])));
  assert.ok(!startsAsContainer("webm", enc("OggS\0\x02")));
  assert.ok(!startsAsContainer("ogg", new Uint8Array([0x10, 0x00, 0x20, 0x00])));
});

Deno.test("Opus in WebM and Ogg, and MP3, streamed in chunks: the final of the same audio as PCM, word for word", async () => {
  await using srv = await startTestServer();
  for (const clip of CLIPS) {
    const original = await streamAudio(srv.url, clipPcmBytes(clip));
    assert.equal(original.finals.length, 1, clip);
    for (const c of CONTAINERS) {
      const recording = await encoded(clip, c);
      const out = await streamAudio(`${srv.url}?encoding=${c}`, recording, { frameBytes: 1000 });
      assert.deepEqual(out.errors, [], `${clip} as ${c}`);
      assert.equal(out.closeCode, 1000);
      // Exact: every decoded sample reached the stream, in order, none added.
      const pcm = await streamAudio(srv.url, await decodedOffline(recording, c));
      assert.deepEqual(out.finals, pcm.finals, `${clip} as ${c}`);
      const edits = wordEdits(out.finals[0], original.finals[0]);
      assert.ok(
        edits <= MAX_WORD_EDITS[c],
        `${clip} as ${c}: "${out.finals[0]}" vs "${original.finals[0]}"`,
      );
    }
  }
  assert.equal(await waitFor(noFfmpegLeft, 2000), true, "every ffmpeg reaped");
});

Deno.test("an encoded stream's utterances each start a new container: EOS, then the next one, pipelined", async () => {
  await using srv = await startTestServer();
  const ws = await connect(`${srv.url}?encoding=webm`);
  const rec = record(ws);
  const a = await encoded("seven_eight.wav", "webm");
  const b = await encoded("digits_pi.wav", "webm");
  // The second utterance is sent before the first's final: it waits for the first's ffmpeg.
  for (const bytes of [a, b]) {
    for (let i = 0; i < bytes.length; i += 2000) ws.send(bytes.slice(i, i + 2000));
    ws.send("__CTRL__:EOS");
  }
  assert.ok(
    await waitFor(
      () => rec.messages.filter((m) => m.type === "final").length === 2 || undefined,
      30_000,
    ),
  );
  const finals = rec.messages.filter((m) => m.type === "final").map((m) => m.text);
  const expected = [];
  for (const bytes of [a, b]) {
    expected.push(...(await streamAudio(srv.url, await decodedOffline(bytes, "webm"))).finals);
  }
  assert.deepEqual(finals, expected);
  ws.close(1000);
  await rec.closed;
});

Deno.test("RESET mid-utterance stops its ffmpeg; the next utterance starts a new container", async () => {
  await using srv = await startTestServer();
  const dropped = await encoded("six_thousand.wav", "ogg");
  const kept = await encoded("seven_eight.wav", "ogg");
  const ws = await connect(`${srv.url}?encoding=ogg`);
  const rec = record(ws);
  ws.send(dropped.slice(0, dropped.length / 2));
  const first = await waitFor(() => childrenNamed(Deno.pid, "ffmpeg")[0], 5000);
  assert.ok(first, "ffmpeg started");
  ws.send("__CTRL__:RESET");
  assert.equal(await waitFor(() => running(first) ? undefined : true, 2000), true, "stopped");
  for (let i = 0; i < kept.length; i += 1000) ws.send(kept.slice(i, i + 1000));
  ws.send("__CTRL__:EOS");
  assert.ok(
    await waitFor(() => rec.messages.some((m) => m.type === "final") || undefined, 30_000),
  );
  const finals = rec.messages.filter((m) => m.type === "final").map((m) => m.text);
  const expected = await streamAudio(srv.url, await decodedOffline(kept, "ogg"));
  assert.deepEqual(finals, expected.finals);
  ws.close(1000);
  await rec.closed;
  assert.equal(await waitFor(noFfmpegLeft, 2000), true);
});

Deno.test("encoding is checked before the upgrade: an unknown value gets 400 naming the allowed ones", async () => {
  await using srv = await startTestServer();
  const r = await refusal(`${srv.http}/ws?encoding=flac`);
  assert.equal(r.status, 400);
  assert.match(
    r.text,
    /encoding must be one of pcm_s16le, ogg, webm, mp3 \(default pcm_s16le\), got "flac"/,
  );
  // The default spelled out is raw PCM, as without the parameter.
  const pcm = await streamAudio(`${srv.url}?encoding=pcm_s16le`, clipPcmBytes("seven_eight.wav"));
  assert.equal(pcm.finals.length, 1);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, /^parakeet_refused_total\{reason="bad_request"\} 1$/m);
});

Deno.test("a refused encoding is quoted, at most 50 characters of it", async () => {
  const { core, clientSlots, refused } = fakeCore();
  const route = wsRoute(core, ROUTE_CONTEXT, clientSlots);
  const req = upgradeRequest(`/ws?encoding=${"x".repeat(20_000)}`);
  const res = await route.handle({ req, url: new URL(req.url), client: "10.0.0.1" });
  assert.equal(res.status, 400);
  assert.deepEqual(refused, ["bad_request"]);
  assert.match(await res.text(), /^encoding must be one of .*, got "x{50}"\n$/);
});

Deno.test("a declared container's first frame must be that container, else unsupported_audio 1003", async () => {
  await using srv = await startTestServer();
  const ogg = await encoded("seven_eight.wav", "ogg");
  const ws = await connect(`${srv.url}?encoding=webm`);
  const rec = record(ws);
  ws.send(ogg.slice(0, 1000));
  assert.equal(await rec.closed, 1003);
  assert.equal(rec.messages.length, 1);
  assert.equal(rec.messages[0].code, "unsupported_audio");
  assert.match(rec.messages[0].message!, /declared encoding=webm .* but starts with Ogg/);
  // Raw PCM declared as MP3 is refused the same way, before any ffmpeg runs.
  const ws2 = await connect(`${srv.url}?encoding=mp3`);
  const rec2 = record(ws2);
  ws2.send(clipPcmBytes("seven_eight.wav").slice(0, 640));
  assert.equal(await rec2.closed, 1003);
  assert.equal(rec2.messages[0].code, "unsupported_audio");
  assert.equal(noFfmpegLeft(), true);
});

Deno.test("without encoding, compressed audio is still refused: the message names the encoding parameter", async () => {
  await using srv = await startTestServer();
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send((await encoded("seven_eight.wav", "webm")).slice(0, 1000));
  assert.equal(await rec.closed, 1003);
  assert.equal(rec.messages[0].code, "unsupported_audio");
  assert.match(rec.messages[0].message!, /WebM\/Matroska/);
  assert.match(rec.messages[0].message!, /\/ws\?encoding=ogg, webm or mp3/);
});

Deno.test("garbage after a valid header: ffmpeg's error ends the stream with unsupported_audio, ffmpeg gone", async () => {
  await using srv = await startTestServer();
  for (const c of CONTAINERS) {
    const good = await encoded("digits_pi.wav", c);
    // Enough that every demuxer reads into it at once (MP3's looks ahead for frame syncs).
    const garbage = new Uint8Array(400_000);
    for (let i = 0; i < garbage.length; i += 65_536) {
      crypto.getRandomValues(garbage.subarray(i, i + 65_536));
    }
    const ws = await connect(`${srv.url}?encoding=${c}`);
    const rec = record(ws);
    ws.send(good.slice(0, 3000));
    // No EOS: the error comes from the bytes themselves, with the stream still open.
    for (let i = 0; i < garbage.length; i += 100_000) ws.send(garbage.slice(i, i + 100_000));
    const code = await rec.closed;
    const errors = rec.messages.filter((m) => m.type === "error");
    assert.equal(code, 1003, `${c}: ${JSON.stringify(errors)}`);
    assert.equal(errors.length, 1, c);
    assert.equal(errors[0].code, "unsupported_audio", c);
    assert.match(errors[0].message!, /ffmpeg stopped with: /, c);
    assert.equal(await waitFor(noFfmpegLeft, 2000), true, `${c}: ffmpeg reaped`);
  }
});

Deno.test("a recording cut mid-element at EOS: the final of what decoded, ffmpeg's complaint logged", async () => {
  await using srv = await startTestServer();
  const bytes = await encoded("digits_pi.wav", "webm");
  const cut = bytes.slice(0, 7777);
  const out = await streamAudio(`${srv.url}?encoding=webm`, cut, { frameBytes: 1000 });
  assert.deepEqual(out.errors, []);
  assert.equal(out.closeCode, 1000);
  const pcm = await streamAudio(srv.url, await decodedOffline(cut, "webm"));
  assert.equal(out.finals.length, 1);
  assert.deepEqual(out.finals, pcm.finals);
  assert.ok(
    srv.lines.some((l) => /ffmpeg at the end of the utterance: .*ended prematurely/.test(l)),
  );
});

Deno.test("a client gone mid-stream: its ffmpeg is killed and reaped, its decoder slot freed", async () => {
  await using srv = await startTestServer({ MAX_ENCODED_STREAMS: "1" });
  const bytes = await encoded("digits_pi.wav", "ogg");
  const ws = await connect(`${srv.url}?encoding=ogg`);
  ws.send(bytes.slice(0, bytes.length / 2));
  const pid = await waitFor(() => childrenNamed(Deno.pid, "ffmpeg")[0], 5000);
  assert.ok(pid, "ffmpeg started");
  // Its CPU-time and address-space limits are the kernel's: 10 s + a tenth of SESSION_MAX_S.
  const limits = Deno.readTextFileSync(`/proc/${pid}/limits`);
  assert.match(limits, /^Max cpu time\s+1090\s+1090\s+seconds/m);
  assert.match(limits, /^Max address space\s+536870912\s+536870912\s+bytes/m);
  ws.close(1000);
  assert.equal(await waitFor(noFfmpegLeft, 5000), true, "ffmpeg reaped");
  // The slot came back: another encoded stream is admitted.
  const again = await streamAudio(`${srv.url}?encoding=ogg`, bytes, { frameBytes: 1000 });
  assert.equal(again.finals.length, 1);
});

Deno.test("an encoded stream gone quiet: what ffmpeg holds is flushed into a final, then idle_timeout, ffmpeg reaped", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "1" });
  const bytes = await encoded("digits_pi.wav", "webm");
  const ws = await connect(`${srv.url}?encoding=webm`);
  const rec = record(ws);
  for (let i = 0; i < bytes.length; i += 1000) ws.send(bytes.slice(i, i + 1000));
  assert.equal(await rec.closed, 1008);
  const ends = rec.messages.filter((m) => m.type !== "partial");
  assert.deepEqual(ends.map((m) => m.type), ["final", "error"]);
  assert.equal(ends[1].code, "idle_timeout");
  const whole = await streamAudio(srv.url, await decodedOffline(bytes, "webm"));
  assert.deepEqual([ends[0].text], whole.finals);
  assert.equal(await waitFor(noFfmpegLeft, 2000), true, "ffmpeg reaped");
});

Deno.test("over MAX_ENCODED_STREAMS, compressed streams are refused 503 encoded_streams; raw PCM is not", async () => {
  await using srv = await startTestServer({ MAX_ENCODED_STREAMS: "2" });
  const open = [
    await connect(`${srv.url}?encoding=webm`),
    await connect(`${srv.url}?encoding=mp3`),
  ];
  const r = await refusal(`${srv.http}/ws?encoding=ogg`);
  assert.equal(r.status, 503);
  assert.match(r.text, /2 streams of compressed audio already \(MAX_ENCODED_STREAMS\)/);
  const pcm = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.equal(pcm.finals.length, 1);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, /^parakeet_refused_total\{reason="encoded_streams"\} 1$/m);
  for (const ws of open) {
    const rec = record(ws);
    ws.close(1000);
    await rec.closed;
  }
  // Released with their connections.
  assert.ok(await waitFor(() => srv.server.pending().streams === 0 || undefined, 5000));
  const recording = await encoded("seven_eight.wav", "ogg");
  const out = await streamAudio(`${srv.url}?encoding=ogg`, recording);
  assert.deepEqual(
    out.finals,
    (await streamAudio(srv.url, await decodedOffline(recording, "ogg"))).finals,
  );
});

Deno.test("a tiny stream decoding to hours is cut at SESSION_MAX_S of audio: final, then session_timeout", async () => {
  // Ten minutes of silence: a few hundred kilobytes of Opus.
  const bomb = await ffmpegEncode([
    "-f",
    "lavfi",
    "-i",
    "anullsrc=r=16000:cl=mono:d=600",
    "-c:a",
    "libopus",
    "-b:a",
    "6k",
    "-f",
    "ogg",
  ]);
  await using srv = await startTestServer({ SESSION_MAX_S: "20" });
  const ws = await connect(`${srv.url}?encoding=ogg`);
  const rec = record(ws);
  for (let i = 0; i < bomb.length && ws.readyState === WebSocket.OPEN; i += 16_000) {
    ws.send(bomb.slice(i, i + 16_000));
    await sleep(1);
  }
  assert.equal(await rec.closed, 1008);
  const ends = rec.messages.filter((m) => m.type !== "partial");
  assert.deepEqual(ends.map((m) => m.type), ["final", "error"]);
  assert.equal(ends[1].code, "session_timeout");
  // Cut by the decoded audio (seconds after the start), not later by the wall clock's cap
  // (whose log line, if the model took that long, comes after).
  const byOutput = srv.lines.findIndex((l) => /decoded audio reached the session cap/.test(l));
  const byClock = srv.lines.findIndex((l) => /session cap reached, flushing/.test(l));
  assert.ok(byOutput >= 0, srv.lines.join("\n"));
  assert.ok(byClock === -1 || byClock > byOutput, srv.lines.join("\n"));
  assert.equal(await waitFor(noFfmpegLeft, 2000), true, "ffmpeg reaped");
});

Deno.test("compressed bytes sent faster than ffmpeg reads them are capped: rate_exceeded", async () => {
  await using srv = await startTestServer({ MAX_ENCODED_BACKLOG_BYTES: "1024" });
  const ws = await connect(`${srv.url}?encoding=mp3`);
  const rec = record(ws);
  ws.send(await encoded("digits_pi.wav", "mp3"));
  assert.equal(await rec.closed, 1008);
  assert.equal(rec.messages.at(-1)!.code, "rate_exceeded");
  assert.match(rec.messages.at(-1)!.message!, /over the limit of 1024 \(MAX_ENCODED_BACKLOG_BYTES/);
  assert.equal(await waitFor(noFfmpegLeft, 2000), true, "ffmpeg reaped");
});

Deno.test("the drain flushes an open encoded stream through ffmpeg: final, then shutting_down 1001", async () => {
  const srv = await startTestServer();
  try {
    const ws = await connect(`${srv.url}?encoding=webm`);
    const rec = record(ws);
    const bytes = await encoded("digits_pi.wav", "webm");
    for (let i = 0; i < bytes.length; i += 1000) ws.send(bytes.slice(i, i + 1000));
    assert.ok(
      await waitFor(() => rec.messages.some((m) => m.type === "partial") || undefined, 20_000),
    );
    await srv.server.shutdown();
    assert.equal(await rec.closed, 1001);
    const ends = rec.messages.filter((m) => m.type !== "partial");
    assert.deepEqual(ends.map((m) => m.type), ["final", "error"]);
    assert.equal(ends[1].code, "shutting_down");
    assert.equal(await waitFor(noFfmpegLeft, 2000), true, "ffmpeg reaped");
    // Every byte sent before the drain was decoded: the final is the whole recording's.
    await using again = await startTestServer();
    const whole = await streamAudio(again.url, await decodedOffline(bytes, "webm"));
    assert.deepEqual([ends[0].text], whole.finals);
  } finally {
    await srv.engine.close();
  }
});

Deno.test("serve under SIGTERM: an encoded stream gets its final; SIGKILLed, its ffmpeg exits with its pipes", async () => {
  const bytes = await encoded("digits_pi.wav", "ogg");
  const expected = await (async () => {
    await using srv = await startTestServer();
    return (await streamAudio(srv.url, await decodedOffline(bytes, "ogg"))).finals;
  })();
  {
    await using srv = await spawnServe({ SHUTDOWN_TIMEOUT_S: "10" });
    const ws = await connect(`ws://127.0.0.1:${srv.port}/ws?encoding=ogg`);
    const rec = record(ws);
    for (let i = 0; i < bytes.length; i += 1000) ws.send(bytes.slice(i, i + 1000));
    assert.ok(
      await waitFor(() => rec.messages.some((m) => m.type === "partial") || undefined, 30_000),
    );
    const since = performance.now();
    srv.child.kill("SIGTERM");
    assert.equal(await rec.closed, 1001);
    const ends = rec.messages.filter((m) => m.type !== "partial");
    assert.deepEqual(ends.map((m) => m.type), ["final", "error"]);
    assert.deepEqual([ends[0].text], expected);
    assert.equal(ends[1].code, "shutting_down");
    assert.equal((await srv.exited(since)).status.code, 0);
  }
  {
    await using srv = await spawnServe();
    const ws = await connect(`ws://127.0.0.1:${srv.port}/ws?encoding=ogg`);
    ws.onclose = () => {};
    ws.send(bytes.slice(0, bytes.length / 2));
    const pid = await waitFor(() => childrenNamed(srv.child.pid, "ffmpeg")[0], 10_000);
    assert.ok(pid, "the server started ffmpeg");
    srv.child.kill("SIGKILL");
    await srv.exited(performance.now());
    // No temp files to sweep: ffmpeg's stdin closed with the server, and it exits.
    assert.equal(await waitFor(() => running(pid) ? undefined : true, 5000), true, "ffmpeg gone");
    ws.close();
  }
});

Deno.test("without ffmpeg, compressed encodings get 501 no_decoder and raw PCM streams as ever", async () => {
  const before = Deno.env.get("FFMPEG");
  Deno.env.set("FFMPEG", "/nonexistent/ffmpeg");
  let srv;
  try {
    srv = await startTestServer();
  } finally {
    if (before === undefined) Deno.env.delete("FFMPEG");
    else Deno.env.set("FFMPEG", before);
  }
  await using _ = srv;
  const r = await refusal(`${srv.http}/ws?encoding=webm`);
  assert.equal(r.status, 501);
  assert.match(r.text, /encoding=webm needs ffmpeg, which this server cannot run/);
  const pcm = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.deepEqual(pcm.errors, []);
  assert.equal(pcm.finals.length, 1);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, /^parakeet_refused_total\{reason="no_decoder"\} 1$/m);
});
