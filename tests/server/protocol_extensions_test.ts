import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { clipPcmBytes, clipSamples, fixtureClips, TINY_MODEL } from "../engine/fixtures.ts";
import { connect, record, startTestServer } from "./harness.ts";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";
import { concatBytes } from "../typed_concat.ts";
import { wsRoute } from "../../src/server/ws_route.ts";
import { fakeCore, ROUTE_CONTEXT, upgradeRequest } from "./route_doubles.ts";

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
  ws.send(CTRL_EOS);
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
      // A partial may end on a bare "▁" piece (a word begun, its letters not decoded yet):
      // SentencePiece reads it as a trailing space, which no word carries.
      assert.equal(p.words!.map((w) => w.word).join(" "), p.text!.trimEnd());
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

interface SegmentMessage extends Message {
  index: number;
  start: number;
  end: number;
}

Deno.test("endpointing: three utterances separated by silence give three segments that join to the final", async () => {
  const silence = new Uint8Array(32_000 * 1.5); // 1.5 s of zeros
  const parts = ["seven_eight.wav", "digits_pi.wav", "six_thousand.wav"].map(clipPcmBytes);
  const pcm = new Uint8Array(parts.reduce((n, p) => n + p.length, 0) + 2 * silence.length);
  let at = 0;
  parts.forEach((p, i) => {
    pcm.set(p, at);
    at += p.length + (i < 2 ? silence.length : 0);
  });
  // A right context the tiny model needs to hear whole words (it was trained on whole clips).
  await using srv = await startTestServer({ RIGHT_CONTEXT_MS: "960" });
  const messages = await session(`${srv.url}?endpoint_ms=800`, pcm);
  const segments = messages.filter((m) => m.type === "segment") as SegmentMessage[];
  const final = messages.find((m) => m.type === "final")!;
  assert.equal(segments.length, 3, JSON.stringify(segments.map((s) => s.text)));
  assert.deepEqual(segments.map((s) => s.index), [0, 1, 2]);
  assert.equal(segments.map((s) => s.text).join(" "), final.text);
  for (let i = 1; i < segments.length; i++) assert.ok(segments[i].start >= segments[i - 1].end);
  // After a segment closes, partials start afresh: none repeats an earlier segment's text.
  const afterFirst = messages.slice(messages.indexOf(segments[0]) + 1);
  for (const p of afterFirst.filter((m) => m.type === "partial")) {
    assert.ok(!p.text!.startsWith(segments[0].text!), `partial "${p.text}" repeats segment 0`);
  }
  // Off by default: the seed's messages only.
  const plain = await session(srv.url, pcm);
  assert.ok(!plain.some((m) => m.type === "segment"));
  assert.equal(plain.find((m) => m.type === "final")!.text, final.text);
});

Deno.test("endpoint_ms that is not a number of milliseconds is refused before the upgrade", async () => {
  await using srv = await startTestServer();
  for (const bad of ["-5", "abc", "100000"]) {
    const res = await fetch(`${srv.http}/ws?endpoint_ms=${bad}`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(res.status, 400, bad);
    assert.match(await res.text(), /endpoint_ms must be a whole number/);
  }
});

Deno.test("a refused endpoint_ms is quoted, at most 50 characters of it", async () => {
  const { core, clientSlots, refused } = fakeCore();
  const route = wsRoute(core, ROUTE_CONTEXT, clientSlots);
  const req = upgradeRequest(`/ws?endpoint_ms=${"9".repeat(20_000)}`);
  const res = await route.handle({ req, url: new URL(req.url), client: "10.0.0.1" });
  assert.equal(res.status, 400);
  assert.deepEqual(refused, ["bad_request"]);
  assert.match(await res.text(), /^endpoint_ms must be a whole number .*, got "9{50}"\n$/);
});

Deno.test("PARTIAL_MAX_WORDS bounds partials of a long utterance; text_offset places them in the final text", async () => {
  const pcm = concatBytes(
    ["digits_pi.wav", "yes_countdown.wav", "six_thousand.wav"].map(clipPcmBytes),
  );
  await using capped = await startTestServer({ PARTIAL_MAX_WORDS: "2" });
  const messages = await session(capped.url, pcm, 4) as (Message & { text_offset?: number })[];
  const final = messages.find((m) => m.type === "final")!;
  const partials = messages.filter((m) => m.type === "partial");
  assert.ok(final.text!.split(" ").length >= 8, `a long utterance: "${final.text}"`);
  let lastOffset = 0;
  for (const p of partials) {
    const offset = p.text_offset ?? 0;
    assert.ok(offset >= lastOffset, "text_offset never moves back");
    lastOffset = offset;
    const stableWords = p.stable!.split(" ").filter(Boolean).length;
    assert.ok(stableWords <= 2, `stable "${p.stable}" repeats more than 2 words`);
    assert.ok(p.text!.startsWith(p.stable!));
    assert.ok(
      final.text!.slice(offset).startsWith(p.stable!),
      `"${p.stable}" is not at ${offset} of "${final.text}"`,
    );
    if (offset > 0) assert.equal(final.text![offset - 1], " ", "the offset is a word start");
    assert.ok(p.words!.length <= 2 + p.text!.slice(p.stable!.length).split(" ").length);
  }
  assert.ok(lastOffset > 0, "later partials left words out");

  await using uncapped = await startTestServer({ PARTIAL_MAX_WORDS: "0" });
  const all = await session(uncapped.url, pcm, 4) as (Message & { text_offset?: number })[];
  assert.ok(all.every((m) => m.text_offset === undefined));
  const longest = Math.max(...all.filter((m) => m.type === "partial").map((m) => m.text!.length));
  assert.ok(longest > final.text!.length / 2, "PARTIAL_MAX_WORDS=0 repeats everything");
});
