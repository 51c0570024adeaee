import assert from "node:assert/strict";
import { initialTdtState } from "../../src/decode/tdt_state.ts";
import { encodedLength } from "../../src/model/subsampling.ts";
import type { ServerMessage } from "../../src/protocol/protocol.ts";
import { StreamSession } from "../../src/stream/stream_session.ts";
import { SCRIPTED_SPEC as SPEC, scriptedContext } from "../fuzz/scripted_model.ts";

const HOP = 160;

/** A stream of `frames` 10 ms feature frames in 240 ms chunks, 480 ms left and 160 ms right. */
function endedStream(frames: number) {
  const ctx = scriptedContext({ chunkFrames: 24, leftFrames: 48, rightFrames: 16, subsampling: 8 });
  const sent: ServerMessage[] = [];
  const session = new StreamSession(1, ctx, (m) => sent.push(m), { endpointMs: 0 });
  session.pushSamples(new Float32Array(frames * HOP), false);
  const none = { tokens: [], frames: [], durations: [], state: initialTdtState(SPEC) };
  // Every chunk with its whole right context, decoded before the end.
  let decodedFrames = 0;
  for (let w = session.takeWork(1); w; w = session.takeWork(1)) {
    decodedFrames += w.work.parts[0].encoderCount;
    session.completeWork(w, none);
  }
  session.receive({ kind: "eos" });
  return { session, sent, decodedFrames };
}

Deno.test("EOS decodes the rest of the utterance in one window, whatever is left", () => {
  // Frames at the end → windows left. 97: chunk 3 (72…96) lacks its right context and chunk 4
  // holds one frame, one window for both; likewise 100 and 111. 96: only chunk 3 is left. 112:
  // chunk 3's right context was still being computed at the EOS; it has it all and keeps its
  // own window, and chunk 4 is the rest.
  const cases: [frames: number, windows: number][] = [[96, 1], [97, 1], [100, 1], [111, 1], [
    112,
    2,
  ]];
  for (const [frames, windows] of cases) {
    const { session, sent, decodedFrames } = endedStream(frames);
    assert.equal(session.readyChunks(32), windows, `${frames} frames: steps left`);
    const w = session.takeWork(32)!;
    assert.equal(w.work.windows.length, windows, `${frames} frames: windows`);
    // The last window ends at the last frame, with NeMo's masked column after it.
    const last = w.work.steps.at(-1)!;
    assert.equal(last.windowEnd, frames);
    assert.equal(w.work.windows.at(-1)!.columns, frames - last.windowStart + 1);
    // The parts are every encoder frame not decoded yet.
    const count = w.work.parts.reduce((n, p) => n + p.encoderCount, 0);
    assert.equal(decodedFrames + count, encodedLength(frames, 8), `${frames} frames`);
    // A token on the very last encoder frame lands in the final.
    session.completeWork(w, {
      tokens: [0],
      frames: [count - 1],
      durations: [1],
      state: initialTdtState(SPEC),
    });
    const finals = sent.filter((m) => m.type === "final");
    assert.equal(finals.length, 1, `${frames} frames: ${JSON.stringify(sent)}`);
    assert.equal(finals[0].text, "Hello");
    assert.equal(session.readyChunks(32), 0);
    assert.equal(session.takeWork(32), null);
  }
});

Deno.test("EOS with the right context longer than the utterance encodes it once, not per chunk", () => {
  const ctx = scriptedContext({
    chunkFrames: 24,
    leftFrames: 2000,
    rightFrames: 2000,
    subsampling: 8,
  });
  const session = new StreamSession(1, ctx, () => {}, { endpointMs: 0 });
  // Ten seconds: 42 chunks, none ready before the end.
  session.pushSamples(new Float32Array(1000 * HOP), false);
  assert.equal(session.readyChunks(64), 0);
  session.receive({ kind: "eos" });
  assert.equal(session.readyChunks(64), 1);
  const w = session.takeWork(64)!;
  assert.equal(w.work.windows.length, 1);
  assert.deepEqual([w.work.steps[0].windowStart, w.work.steps[0].windowEnd], [0, 1000]);
  assert.equal(w.work.steps[0].chunks, 42);
  assert.equal(w.work.parts[0].encoderCount, encodedLength(1000, 8));
});
