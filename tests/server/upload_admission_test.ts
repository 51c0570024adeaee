/**
 * Uploads against the server's limits: MAX_UPLOADS as a reservation, the event loop free while a
 * long file is decoded, clients that leave mid-decode, and file names that are never paths.
 */
import assert from "node:assert/strict";
import { childrenNamed, exists, waitFor } from "../audio/proc_children.ts";
import { pcmWav } from "../audio/wav_header.ts";
import { CLIPS_DIR, reference } from "../engine/fixtures.ts";
import type { BatchRunner } from "../../src/stream/batch_scheduler.ts";
import {
  handleTranscription,
  type TranscriptionDeps,
} from "../../src/server/transcription_route.ts";
import { startTestServer } from "./harness.ts";

const CLIP = Deno.readFileSync(`${CLIPS_DIR}/digits_pi.wav`);

function clipForm(name = "a.wav", bytes: Uint8Array<ArrayBuffer> = CLIP): FormData {
  const f = new FormData();
  f.append("file", new Blob([bytes]), name);
  return f;
}

function post(http: string, form: FormData, signal?: AbortSignal) {
  return fetch(`${http}/v1/audio/transcriptions`, { method: "POST", body: form, signal });
}

async function uploadsRunning(http: string): Promise<number> {
  const status = await (await fetch(`${http}/v1/status`)).json();
  return status.uploads.running;
}

Deno.test("10 uploads at once with MAX_UPLOADS=4: 4 run, 6 get 503 with JSON and Retry-After", async () => {
  // Batches wait for the gate: the admitted uploads stay running while the others arrive.
  const gate = Promise.withResolvers<void>();
  const gated = (engine: BatchRunner): BatchRunner => ({
    run: async (request) => {
      await gate.promise;
      return await engine.run(request);
    },
  });
  await using srv = await startTestServer({ MAX_UPLOADS: "4" }, gated);
  let most = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      most = Math.max(most, await uploadsRunning(srv.http));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const responses = Array.from({ length: 10 }, () => post(srv.http, clipForm()));
  const refused: Response[] = [];
  const pending = responses.map((p, i) => p.then((r) => ({ r, i })));
  // The six refusals come back while the four admitted uploads wait at the gate.
  const settled = new Set<number>();
  while (refused.length < 6) {
    const { r, i } = await Promise.race(pending.filter((_, k) => !settled.has(k)));
    settled.add(i);
    assert.equal(r.status, 503, "only refusals can finish while the gate is closed");
    refused.push(r);
  }
  assert.equal(await uploadsRunning(srv.http), 4);
  for (const r of refused) {
    assert.equal(r.headers.get("retry-after"), "5");
    assert.match(r.headers.get("content-type") ?? "", /application\/json/);
    const { error } = await r.json();
    assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"]);
    assert.equal(error.code, "too_many_uploads");
    assert.equal(error.type, "server_error");
    assert.match(error.message, /MAX_UPLOADS/);
  }
  gate.resolve();
  const admitted = await Promise.all(pending.filter((_, k) => !settled.has(k)));
  for (const { r } of admitted) {
    assert.equal(r.status, 200);
    assert.equal((await r.json()).text, reference("digits_pi.wav").text);
  }
  watching = false;
  await watch;
  assert.ok(most <= 4, `${most} uploads ran at once`);
  assert.equal(await uploadsRunning(srv.http), 0, "every slot released");
});

Deno.test("a slot is released when the upload is refused or fails", async () => {
  await using srv = await startTestServer({ MAX_UPLOADS: "1" });
  // Refused content, a bad form, too large: each frees the one slot for the next.
  const notAudio = clipForm("x", new TextEncoder().encode("#EXTM3U\n#EXTINF:1,\n/etc/passwd\n"));
  assert.equal((await (await post(srv.http, notAudio)).json()).error.code, "unsupported_format");
  const bad = await fetch(`${srv.http}/v1/audio/transcriptions`, { method: "POST", body: "x" });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.equal(await uploadsRunning(srv.http), 0);
  const ok = await post(srv.http, clipForm());
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(await uploadsRunning(srv.http), 0);
});

Deno.test("a request whose signal aborts while ffmpeg decodes: ffmpeg killed and reaped, answered at once", async () => {
  // The route's own contract, driven with a signal we control: Deno.serve (2.9) does not abort
  // request.signal when a client leaves after sending its body, so a live server cannot show it.
  const path = await Deno.makeTempFile({ suffix: ".flac" });
  const sox = await new Deno.Command("sox", {
    args: ["-n", "-r", "16000", "-c", "1", path, "trim", "0", "3600"],
  }).output();
  assert.ok(sox.success);
  const flac = await Deno.readFile(path);
  await Deno.remove(path);
  const abort = new AbortController();
  const req = new Request("http://local/v1/audio/transcriptions", {
    method: "POST",
    body: clipForm("hour.flac", flac),
    signal: abort.signal,
  });
  const deps: TranscriptionDeps = {
    servedModel: "tiny-tdt",
    maxUploadBytes: 1 << 20,
    limits: { maxDurationS: 10_800, timeoutMs: 60_000 },
    openSession: () => {
      throw new Error("an aborted upload must not reach inference");
    },
    closeSession: () => {},
    wake: () => {},
  };
  const answer = handleTranscription(req, deps);
  const pid = await waitFor(() => childrenNamed(Deno.pid, "ffmpeg")[0], 10_000);
  assert.ok(pid, "ffmpeg started");
  const t0 = performance.now();
  abort.abort();
  const res = await answer;
  assert.ok(performance.now() - t0 < 500, "answered at once");
  assert.equal(res.status, 499);
  assert.equal((await res.json()).error.code, "client_closed_request");
  assert.equal(exists(pid), false, "ffmpeg killed and reaped");
});

Deno.test("an upload whose ffmpeg runs out of memory or CPU time gets 422 in OpenAI's shape, its slot released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "upload_ffmpeg_limits_" });
  const before = Deno.env.get("FFMPEG");
  try {
    const mp3 = `${dir}/clip.mp3`;
    const made = await new Deno.Command("ffmpeg", {
      args: ["-nostdin", "-loglevel", "error", "-i", `${CLIPS_DIR}/digits_pi.wav`, mp3],
    }).output();
    assert.ok(made.success);
    // A decoder looping on hostile input, named ffmpeg so the process check finds it.
    await Deno.mkdir(`${dir}/spin`);
    const spin = `${dir}/spin/ffmpeg`;
    await Deno.writeTextFile(spin, "#!/bin/sh\nwhile :; do :; done\n", { mode: 0o755 });
    const cases: [string, { memoryMiB?: number; cpuSeconds?: number }, string | null, string][] = [
      ["64 MiB of address space", { memoryMiB: 64 }, null, "decode_out_of_memory"],
      ["1 s of CPU time", { cpuSeconds: 1 }, spin, "decode_timeout"],
    ];
    for (const [what, limits, ffmpeg, code] of cases) {
      if (ffmpeg === null) Deno.env.delete("FFMPEG");
      else Deno.env.set("FFMPEG", ffmpeg);
      let released = 0;
      const deps: TranscriptionDeps = {
        servedModel: "tiny-tdt",
        maxUploadBytes: 1 << 20,
        limits: { maxDurationS: 600, timeoutMs: 60_000, ...limits },
        openSession: () => {
          throw new Error("a failed decode must not reach inference");
        },
        closeSession: () => {},
        wake: () => {},
      };
      const req = new Request("http://local/v1/audio/transcriptions", {
        method: "POST",
        body: clipForm("clip.mp3", await Deno.readFile(mp3)),
      });
      const t0 = performance.now();
      const res = await handleTranscription(req, deps, () => released++);
      assert.ok(performance.now() - t0 < 10_000, what);
      const body = await res.json();
      assert.equal(res.status, 422, `${what}: ${JSON.stringify(body)}`);
      assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"], what);
      assert.equal(body.error.type, "invalid_request_error", what);
      assert.equal(body.error.code, code, what);
      assert.match(body.error.message, /^Cannot read audio file "upload": ffmpeg /, what);
      assert.equal(released, 1, `${what}: slot released once`);
      assert.deepEqual(childrenNamed(Deno.pid, "ffmpeg"), [], `${what}: no ffmpeg left`);
    }
  } finally {
    if (before === undefined) Deno.env.delete("FFMPEG");
    else Deno.env.set("FFMPEG", before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that leaves halfway through its body gets its slot released", async () => {
  await using srv = await startTestServer({ MAX_UPLOADS: "1" });
  const abort = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(
        new TextEncoder().encode(
          '--b\r\ncontent-disposition: form-data; name="file"; filename="x"\r\n\r\n',
        ),
      );
      c.enqueue(new Uint8Array(1 << 20));
    },
    pull: () => new Promise(() => {}), // the rest never comes
  });
  const upload = fetch(`${srv.http}/v1/audio/transcriptions`, {
    method: "POST",
    body,
    headers: { "content-type": "multipart/form-data; boundary=b" },
    signal: abort.signal,
  }).catch(() => null);
  let running = 0;
  for (let i = 0; i < 200 && running === 0; i++) {
    running = await uploadsRunning(srv.http);
    if (running === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(running, 1, "the slot is held while the body arrives");
  abort.abort();
  await upload;
  for (let i = 0; i < 200 && running > 0; i++) {
    running = await uploadsRunning(srv.http);
    if (running > 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(running, 0, "the slot is released when the client goes");
  const next = await post(srv.http, clipForm());
  assert.equal(next.status, 200);
  await next.body?.cancel();
});

Deno.test("/status answers within 200 ms while a 10-minute 44.1 kHz WAV is decoded", async () => {
  await using srv = await startTestServer();
  const wav = pcmWav(44100, 16, 600 * 44100 * 2);
  for (let i = 44; i < wav.length; i += 97) wav[i] = i & 0xff; // not silence
  const enc = new TextEncoder();
  const head = enc.encode(
    '--b\r\ncontent-disposition: form-data; name="file"; filename="long.wav"\r\n\r\n',
  );
  const tail = enc.encode("\r\n--b--\r\n");
  const body = new Uint8Array(head.length + wav.length + tail.length);
  body.set(head);
  body.set(wav, head.length);
  body.set(tail, head.length + wav.length);
  // The route itself, in this isolate beside the server: the decode ends where the route opens
  // its inference session, which is the moment recorded here.
  let decodedAt = 0;
  const deps: TranscriptionDeps = {
    servedModel: "tiny-tdt",
    maxUploadBytes: 100 << 20,
    limits: { maxDurationS: 10_800, timeoutMs: 120_000 },
    openSession: () => {
      decodedAt = performance.now();
      throw new Error("decoded: the test stops here");
    },
    closeSession: () => {},
    wake: () => {},
  };
  // In 64 KiB chunks, as a socket delivers it.
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= body.length) c.close();
      else c.enqueue(body.slice(sent, sent += 65536));
    },
  });
  const req = new Request("http://local/v1/audio/transcriptions", {
    method: "POST",
    body: stream,
    headers: { "content-type": "multipart/form-data; boundary=b" },
  });
  const start = performance.now();
  const route = handleTranscription(req, deps).catch((e) => e);
  // Each probe's answer time, and the gap since the previous one (a stall between probes).
  let worst = 0;
  let probes = 0;
  let last = start;
  while (!decodedAt) {
    const t0 = performance.now();
    await (await fetch(`${srv.http}/status`)).text();
    const now = performance.now();
    if (!decodedAt) {
      worst = Math.max(worst, now - t0, now - last - 20);
      probes++;
    }
    last = now;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(String(await route), /the test stops here/);
  // Parsing and resampling 26 M samples take seconds, in a worker: the event loop stays free.
  assert.ok(decodedAt - start > 500, `decoding took ${Math.round(decodedAt - start)} ms`);
  assert.ok(probes >= 10, `${probes} probes while decoding`);
  assert.ok(worst < 200, `/status took ${Math.round(worst)} ms`);
});

Deno.test("a 140-byte HLS playlist naming the server's own audio files is refused 415, not transcribed", async () => {
  await using srv = await startTestServer();
  const dir = await Deno.makeTempDir({ prefix: "upload_playlist_" });
  try {
    // The files a playlist could name: MP3, AAC and MPEG-TS copies of a clip on the server's disk.
    const named: string[] = [];
    for (const ext of ["mp3", "aac", "ts"]) {
      const path = `${dir}/clip.${ext}`;
      const r = await new Deno.Command("ffmpeg", {
        args: ["-nostdin", "-loglevel", "error", "-i", `${CLIPS_DIR}/digits_pi.wav`, path],
      }).output();
      assert.ok(r.success);
      named.push(path);
    }
    for (const path of named) {
      for (const line of [path, `file:${path}`]) {
        const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${line}\n`;
        const r = await post(srv.http, clipForm("list.m3u8", new TextEncoder().encode(playlist)));
        const body = await r.json();
        assert.equal(r.status, 415, `${line}: ${JSON.stringify(body)}`);
        assert.equal(body.error.code, "unsupported_format");
        assert.equal(body.text, undefined);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file names are never paths: each odd name gets the transcript", async () => {
  await using srv = await startTestServer();
  const names = [
    ".",
    "..",
    "a".repeat(5000),
    "../../../../etc/passwd",
    "/etc/passwd",
    "dir/sub\\file.wav",
    "nul\u0000byte.wav",
    "\u0001\u001f\u007f.wav",
    "音声 ünïcødé 🎙.wav",
    "",
    "-i pipe:0.wav",
    "%2e%2e%2f.wav",
  ];
  const expected = reference("digits_pi.wav").text;
  for (const name of names) {
    const r = await post(srv.http, clipForm(name));
    const body = await r.text();
    assert.equal(r.status, 200, `${JSON.stringify(name.slice(0, 40))}: ${body}`);
    assert.equal(JSON.parse(body).text, expected);
  }
});
