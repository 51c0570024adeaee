import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { clipPcmBytes, clipSamples, fixtureClips, TINY_MODEL } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "./harness.ts";

async function offlineTexts(clips: string[]): Promise<Map<string, string>> {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const samples = await Promise.all(clips.map(clipSamples));
  const { transcripts } = transcribeClips(model, new LogMelExtractor(), samples);
  return new Map(clips.map((c, i) => [c, transcripts[i].text]));
}

Deno.test("with contexts longer than the clip, the streamed final equals transcribe's text", async () => {
  const clips = fixtureClips();
  const offline = await offlineTexts(clips);
  await using srv = await startTestServer({ LEFT_CONTEXT_MS: "20000", RIGHT_CONTEXT_MS: "20000" });
  for (const clip of clips) {
    const r = await streamAudio(srv.url, clipPcmBytes(clip));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.finals, [offline.get(clip)], clip);
    assert.equal(r.closeCode, 1000);
  }
});

Deno.test("the final does not depend on how the client slices its frames", async () => {
  await using srv = await startTestServer();
  const clip = "seven_eight.wav";
  const pcm = clipPcmBytes(clip);
  const reference = await streamAudio(srv.url, pcm, { frameBytes: 640 });
  assert.equal(reference.finals.length, 1);
  assert.ok(reference.finals[0].length > 0);
  for (const frameBytes of [1, 7, 32_000]) {
    const r = await streamAudio(srv.url, pcm, { frameBytes });
    assert.deepEqual(r.finals, reference.finals, `frames of ${frameBytes} bytes`);
    assert.deepEqual(r.errors, []);
  }
});

Deno.test("each of 24 concurrent streams gets the final it gets alone", async () => {
  await using srv = await startTestServer({ MAX_BATCH: "16" });
  const clips = fixtureClips();
  const alone = new Map<string, string[]>();
  for (const clip of clips) {
    alone.set(clip, (await streamAudio(srv.url, clipPcmBytes(clip))).finals);
  }
  const crowd = Array.from({ length: 24 }, (_, i) => clips[i % clips.length]);
  const before = srv.server.stats().batches;
  const results = await Promise.all(
    crowd.map((clip, i) =>
      streamAudio(srv.url, clipPcmBytes(clip), { frameBytes: 640 + 2 * i, rtf: 8 })
    ),
  );
  results.forEach((r, i) => {
    assert.deepEqual(r.errors, [], `stream ${i}`);
    assert.deepEqual(r.finals, alone.get(crowd[i]), `stream ${i} (${crowd[i]})`);
  });
  const stats = srv.server.stats();
  assert.equal(stats.openStreams, 0);
  // Batching really happened: fewer batches than streams × steps.
  assert.ok(stats.batches - before < 24 * 10, `${stats.batches - before} batches`);
});

Deno.test("partials arrive before EOS when audio is sent at real time", async () => {
  await using srv = await startTestServer();
  const r = await streamAudio(srv.url, clipPcmBytes("digits_pi.wav"), { rtf: 1 });
  assert.ok(r.partialsBeforeEos >= 2, `only ${r.partialsBeforeEos} partials before EOS`);
  assert.equal(r.finals.length, 1);
  // Partials grow towards the final: the last one is a prefix of the committed text.
  assert.ok(r.finals[0].startsWith(r.partials[r.partials.length - 1].slice(0, 1)));
});
