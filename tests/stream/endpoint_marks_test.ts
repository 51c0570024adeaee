import assert from "node:assert/strict";
import { initialTdtState } from "../../src/decode/tdt_state.ts";
import type { ServerMessage } from "../../src/protocol/protocol.ts";
import { StreamSession } from "../../src/stream/stream_session.ts";
import { SCRIPTED_SPEC as SPEC, scriptedContext } from "../fuzz/scripted_model.ts";

/** A stream whose decoder results the test scripts: one 80 ms encoder frame per chunk step. */
function scriptedStream(endpointMs: number) {
  const ctx = scriptedContext({ chunkFrames: 8, leftFrames: 0, rightFrames: 0, subsampling: 8 });
  const sent: ServerMessage[] = [];
  const session = new StreamSession(1, ctx, (m) => sent.push(m), { endpointMs });
  // Three seconds of audio: 37 chunks of one encoder frame each.
  session.pushSamples(new Float32Array(48_000), false);
  /** Decodes the next `chunks` chunks with tokens at frames relative to their first chunk. */
  const step = (chunks: number, tokens: [id: number, frame: number, duration: number][]) => {
    const w = session.takeWork(chunks);
    assert.ok(w, "work is ready");
    assert.equal(w.work.steps.length, chunks);
    session.completeWork(w, {
      tokens: tokens.map((t) => t[0]),
      frames: tokens.map((t) => t[1]),
      durations: tokens.map((t) => t[2]),
      state: initialTdtState(SPEC),
    });
  };
  return { session, sent, step };
}

Deno.test("endpointing: a mark emitted after the pause does not open the next segment", () => {
  const { sent, step } = scriptedStream(400);
  // "Hello world" at frames 0-3, then 12 frames (960 ms) of silence before "." and "how".
  step(4, [[0, 0, 2], [1, 2, 2]]);
  step(12, [[2, 11, 1], [3, 11, 1]]);
  const segments = sent.filter((m) => m.type === "segment");
  assert.equal(segments.length, 1, JSON.stringify(sent));
  assert.equal(segments[0].text, "Hello world.");
});

Deno.test("endpointing: a segment never starts with a mark that came after it was sent", () => {
  const { sent, step } = scriptedStream(400);
  step(4, [[0, 0, 2], [1, 2, 2]]);
  step(8, []); // the pause: "Hello world" goes out as a segment
  step(8, [[2, 0, 1], [3, 1, 1], [4, 2, 1], [5, 3, 1], [6, 4, 0]]);
  step(8, []); // another pause closes the second segment
  const segments = sent.filter((m) => m.type === "segment");
  assert.deepEqual(segments.map((s) => s.text), ["Hello world", "how are you?"]);
  const second = segments[1];
  assert.equal(second.words![0].word, "how");
  // "?" sits at the end of "you": (12 + 3 + 1) frames × 80 ms.
  assert.deepEqual(second.words![2], { word: "you?", start: 1.2, end: 1.28 });
});
