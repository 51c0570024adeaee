import assert from "node:assert/strict";
import { wordErrors } from "../../bench/wer.ts";
import { launchServer } from "../../src/server/launch.ts";
import { ConfigError, loadServerConfig } from "../../src/server/config.ts";
import { clipPcmBytes, longClipWav, TINY_MODEL } from "../engine/fixtures.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { Vocabulary } from "../../src/decode/vocabulary.ts";
import {
  handleTranscription,
  type TranscriptionDeps,
} from "../../src/server/transcription_route.ts";
import { BatchScheduler } from "../../src/stream/batch_scheduler.ts";
import { fileChunkGeometry } from "../../src/stream/file_windows.ts";
import { type StreamContext, StreamSession } from "../../src/stream/stream_session.ts";
import { startTestServer, streamAudio } from "./harness.ts";

function upload(http: string, wav: Uint8Array<ArrayBuffer>) {
  const f = new FormData();
  f.append("file", new Blob([wav]), "long.wav");
  f.append("response_format", "verbose_json");
  return fetch(`${http}/v1/audio/transcriptions`, { method: "POST", body: f });
}

Deno.test("serve refuses at start a streaming window longer than the model's positional table, naming the knobs", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { LEFT_CONTEXT_MS: "60000", RIGHT_CONTEXT_MS: "60000" },
      /^LEFT_CONTEXT_MS 60000 \+ STEP_MS 240 \+ RIGHT_CONTEXT_MS 60000 make windows of 120\.24 s, longer than the model's positional table: 1250 encoder frames \(100 s/,
    ],
    [
      { LEFT_CONTEXT_MS: "40000", FILE_CHUNK_S: "60" },
      /^LEFT_CONTEXT_MS 40000 \+ FILE_CHUNK_S 60 \+ the uploads' 2 s of right context make windows of 102 s/,
    ],
  ];
  for (const [knobs, message] of cases) {
    const config = loadServerConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      MODEL: TINY_MODEL,
      DEVICE: "cpu",
      ...knobs,
    });
    await assert.rejects(
      launchServer(config, { quiet: true }),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("every FILE_CHUNK_S decodes an upload: 1 s no longer ends in a NaN model error", async () => {
  // 16.7 s of speech, as in the report.
  const { wav, texts } = longClipWav(16.5);
  for (const chunk of ["1", "3", "8"]) {
    await using srv = await startTestServer({ FILE_CHUNK_S: chunk });
    const r = await upload(srv.http, wav);
    const body = await r.json();
    assert.equal(r.status, 200, `FILE_CHUNK_S=${chunk}: ${JSON.stringify(body)}`);
    const { errors, words } = wordErrors(texts.join(" "), body.text);
    assert.ok(errors / words < 0.5, `FILE_CHUNK_S=${chunk}: WER ${errors}/${words}: ${body.text}`);
    // Timings in whole encoder frames (80 ms), in order: no chunk starts mid-frame.
    for (const w of body.words) {
      assert.ok(Number.isInteger(Math.round(w.start * 1000) / 80), `${w.word} at ${w.start}`);
    }
    for (let i = 1; i < body.words.length; i++) {
      assert.ok(body.words[i].start >= body.words[i - 1].end, `FILE_CHUNK_S=${chunk}: word ${i}`);
    }
  }
});

Deno.test("an upload longer than the model's positional table (101 s) is transcribed whole", async () => {
  await using srv = await startTestServer();
  const { wav, texts } = longClipWav(101);
  const r = await upload(srv.http, wav);
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.ok(body.duration > 100);
  const { errors, words } = wordErrors(texts.join(" "), body.text);
  assert.ok(errors / words < 0.4, `WER ${errors}/${words}: ${body.text}`);
  assert.ok(body.words.at(-1).end > 95, `last word ends at ${body.words.at(-1).end} s`);
});

Deno.test("an upload whose client leaves stops within one batch: no further windows of it are decoded", async () => {
  // The route over a scheduler and upload sessions wired as the server wires them, with the
  // request's signal in the test's hands (the test below does the same over a real socket).
  await using srv = await startTestServer();
  let windows = 0;
  const firstWindows = Promise.withResolvers<void>();
  const scheduler = new BatchScheduler({
    async run(request) {
      // Each batch takes a while, as on a busy machine: the client leaves mid-file.
      await new Promise((r) => setTimeout(r, 25));
      windows += request.windows.length;
      if (windows >= 3) firstWindows.resolve();
      return srv.engine.run(request);
    },
  }, { maxBatch: 8, maxInflight: 2 });
  const context: StreamContext = {
    geometry: fileChunkGeometry(100, 200, 8, 200),
    extractor: new LogMelExtractor(),
    spec: srv.engine.model.spec,
    vocab: Vocabulary.parse(Deno.readTextFileSync(`${TINY_MODEL}/vocab.txt`)),
    maxBacklogFrames: Infinity,
  };
  let opened = 0;
  const deps: TranscriptionDeps = {
    servedModel: "tiny-tdt",
    maxUploadBytes: 1 << 30,
    limits: { maxDurationS: 10_800, timeoutMs: 60_000 },
    openSession(send) {
      const s = new StreamSession(++opened, context, send);
      s.background = true;
      scheduler.add(s);
      return s;
    },
    closeSession(s) {
      s.close();
      scheduler.remove(s);
    },
    wake: () => scheduler.wake(),
  };
  const { wav } = longClipWav(101);
  const request = (signal: AbortSignal) => {
    const f = new FormData();
    f.append("file", new Blob([wav]), "long.wav");
    return new Request("http://test/v1/audio/transcriptions", { method: "POST", body: f, signal });
  };

  const client = new AbortController();
  const response = handleTranscription(request(client.signal), deps);
  await firstWindows.promise;
  client.abort();
  const atDisconnect = windows;
  assert.equal(scheduler.streams, 0, "the session left the scheduler at once");
  const res = await response;
  assert.equal(res.status, 499);
  assert.equal((await res.json()).error.code, "client_closed_request");
  await new Promise((r) => setTimeout(r, 500));
  await scheduler.idle();
  // The batches already running when the client left may finish; none starts after.
  assert.ok(
    windows - atDisconnect <= 2,
    `${windows - atDisconnect} windows decoded after the disconnect (of ~100)`,
  );

  // A client gone before its file was decoded costs no window at all.
  const gone = new AbortController();
  gone.abort();
  const before = windows;
  assert.equal((await handleTranscription(request(gone.signal), deps)).status, 499);
  assert.equal(opened, 1, "no session was opened");
  await scheduler.idle();
  assert.equal(windows, before);
});

Deno.test("a long upload's features are computed in slices: /status and a live stream's partials keep flowing beside it", async () => {
  // Half an hour of audio: its log-mel in one go holds the event loop for about 1.8 s here,
  // fed in slices for about 1 ms at a time. (Reading the form and the WAV costs some 0.3 s of
  // its own, before the decoding starts: that part is the upload's decoding, not measured away.)
  const { wav } = longClipWav(1800);
  let batches = 0;
  await using srv = await startTestServer({ FILE_CHUNK_S: "8" }, (engine) => ({
    run(request) {
      // The upload ends in an error after 40 of its windows: the overlap is what matters.
      // (The file's windows are 12 s; the live stream's under 3 s.)
      if (request.windows.some((w) => w.columns > 1000) && ++batches > 40) {
        return Promise.reject(new Error("enough of this file"));
      }
      return engine.run(request);
    },
  }));
  let done = false;
  let worst = 0;
  const pinger = (async () => {
    let last = performance.now();
    while (!done) {
      await (await fetch(`${srv.http}/status`)).text();
      worst = Math.max(worst, performance.now() - last);
      last = performance.now();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const live = streamAudio(
    srv.url,
    new Uint8Array([...clipPcmBytes("yes_countdown.wav"), ...clipPcmBytes("seven_eight.wav")]),
    { rtf: 1 },
  );
  const r = await upload(srv.http, wav);
  const body = await r.json();
  done = true;
  await pinger;
  assert.equal(r.status, 500, JSON.stringify(body).slice(0, 200));
  assert.match(body.error.message, /enough of this file/);
  const stream = await live;
  assert.ok(stream.partialsBeforeEos >= 2, `${stream.partialsBeforeEos} partials`);
  assert.ok(worst < 1000, `/status answered after ${Math.round(worst)} ms`);
  // The live stream's steps, as the server timed them: p95 within STEP_MS + 100 ms (340 ms; the
  // histogram's bucket below it is 300 ms).
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  const value = (series: string) =>
    Number(metrics.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1]);
  const within = value('parakeet_step_latency_seconds_bucket{source="stream",le="0.3"}');
  const steps = value('parakeet_step_latency_seconds_count{source="stream"}');
  assert.ok(steps >= 10, `${steps} live steps`);
  assert.ok(within / steps >= 0.95, `${within} of ${steps} live steps within 300 ms`);
});

Deno.test("a real client that hangs up mid-upload stops its decoding within a batch (over the socket)", async () => {
  // The same guarantee end to end: the HTTP layer aborts the request's signal when the client's
  // connection closes, and the route takes the upload's session out of the scheduler.
  let windows = 0;
  const firstWindows = Promise.withResolvers<void>();
  await using srv = await startTestServer({ FILE_CHUNK_S: "1" }, (engine) => ({
    async run(request) {
      // Slow batches, as on a busy machine: the client leaves mid-file.
      await new Promise((r) => setTimeout(r, 25));
      windows += request.windows.length;
      if (windows >= 3) firstWindows.resolve();
      return engine.run(request);
    },
  }));
  const { wav } = longClipWav(101);
  const form = new FormData();
  form.append("file", new Blob([wav]), "long.wav");
  const client = new AbortController();
  const upload = fetch(`${srv.http}/v1/audio/transcriptions`, {
    method: "POST",
    body: form,
    signal: client.signal,
  }).catch(() => null);
  await firstWindows.promise;
  client.abort();
  await upload;
  const atDisconnect = windows;
  await new Promise((r) => setTimeout(r, 1500));
  const status = await (await fetch(`${srv.http}/v1/status`)).json();
  assert.equal(status.uploads.running, 0, "the upload's slot is free");
  assert.equal(status.uploads.transcribing, 0, "its session is gone");
  // The batches already running when the client left may finish; none starts after.
  assert.ok(
    windows - atDisconnect <= 4,
    `${windows - atDisconnect} windows decoded after the hang-up (of ~100)`,
  );
});
