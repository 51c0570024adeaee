import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { transcribeClips } from "../../src/engine/offline_transcriber.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { clipPcmBytes, clipSamples, fixtureClips, TINY_MODEL } from "../engine/fixtures.ts";
import { connect, record, startTestServer } from "./harness.ts";

interface Word {
  word: string;
  start: number;
  end: number;
}
interface Message {
  type: string;
  text?: string;
  stable?: string;
  words?: Word[];
}

/** Streams a clip and returns every message up to the final. */
async function session(url: string, pcm: Uint8Array, rtf = 0): Promise<Message[]> {
  const ws = await connect(url);
  const rec = record(ws);
  for (let i = 0; i < pcm.length; i += 640) {
    ws.send(pcm.slice(i, i + 640));
    if (rtf) await new Promise((r) => setTimeout(r, 20 / rtf));
  }
  ws.send("__CTRL__:EOS");
  while (!rec.messages.some((m) => m.type === "final")) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ws.close();
  await rec.closed;
  return rec.messages as Message[];
}

function assertMonotonic(words: Word[], what: string): void {
  for (let i = 0; i < words.length; i++) {
    assert.ok(words[i].start <= words[i].end, `${what}: word ${i} ends before it starts`);
    if (i > 0) assert.ok(words[i].start >= words[i - 1].end, `${what}: word ${i} overlaps`);
  }
}

Deno.test("final words are monotonic and equal to offline words at full context", async () => {
  const clips = fixtureClips();
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const offline = transcribeClips(
    model,
    new LogMelExtractor(),
    await Promise.all(clips.map(clipSamples)),
  );
  await using srv = await startTestServer({ LEFT_CONTEXT_MS: "20000", RIGHT_CONTEXT_MS: "20000" });
  for (let i = 0; i < clips.length; i++) {
    const final = (await session(srv.url, clipPcmBytes(clips[i]))).find((m) => m.type === "final")!;
    const expected = offline.transcripts[i];
    assert.equal(final.text, expected.text);
    assert.deepEqual(final.words, expected.words, clips[i]);
    assert.equal(final.words!.map((w) => w.word).join(" "), expected.text);
    assertMonotonic(final.words!, clips[i]);
    const last = final.words!.at(-1);
    if (last) assert.ok(last.end <= expected.audioSeconds + 1e-9);
  }
});

Deno.test("stable text only grows by appending; text = stable + tentative; words cover what is shown", async () => {
  await using srv = await startTestServer();
  let sawTentative = false;
  for (const clip of ["digits_pi.wav", "yes_countdown.wav", "six_thousand.wav"]) {
    const messages = await session(srv.url, clipPcmBytes(clip), 4);
    const partials = messages.filter((m) => m.type === "partial");
    assert.ok(partials.length >= 2, `${clip}: partials`);
    let prev = "";
    for (const p of partials) {
      assert.equal(typeof p.stable, "string");
      assert.ok(
        p.stable!.startsWith(prev),
        `${clip}: stable "${p.stable}" does not extend "${prev}"`,
      );
      assert.ok(
        p.text!.startsWith(p.stable!),
        `${clip}: text "${p.text}" does not start with stable`,
      );
      if (p.text!.length > p.stable!.length) sawTentative = true;
      assertMonotonic(p.words!, `${clip} partial`);
      assert.equal(p.words!.map((w) => w.word).join(" "), p.text);
      prev = p.stable!;
    }
    const final = messages.find((m) => m.type === "final")!;
    assert.ok(final.text!.startsWith(prev), `${clip}: the final extends the last stable text`);
  }
  assert.ok(sawTentative, "tentative words were shown ahead of the committed ones at least once");
});

Deno.test("tentative decoding never changes the final", async () => {
  const clips = fixtureClips();
  const finals = async (tentative: string) => {
    await using srv = await startTestServer({ TENTATIVE: tentative });
    const out: string[] = [];
    for (const clip of clips) {
      const messages = await session(srv.url, clipPcmBytes(clip));
      out.push(JSON.stringify(messages.find((m) => m.type === "final")));
      if (tentative === "0") {
        for (const p of messages.filter((m) => m.type === "partial")) {
          assert.equal(p.text, p.stable);
        }
      }
    }
    return out;
  };
  assert.deepEqual(await finals("1"), await finals("0"));
});
