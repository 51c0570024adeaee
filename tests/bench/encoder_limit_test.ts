/**
 * The encoder-only limit of several inference lanes (src/bench/encoder_limit.ts): each lane
 * times its share of the windows after every lane is ready, and the lanes' rates add up.
 */
import assert from "node:assert/strict";
import { combineLanes, measureEncoderLimit } from "../../src/bench/encoder_limit.ts";
import type { EncoderOutput } from "../../src/model/parakeet_model.ts";

/** A stand-in encoder whose batch of b windows takes `perWindow`·b ms on its own clock. */
function lane(perWindow: number, batches: number[], events: string[] = []) {
  let clock = 0;
  const model = {
    featuresSize: 4,
    config: { windowStride: 0.01 },
    encode(_f: Float32Array, batch: number) {
      events.push(`encode ${batch}`);
      clock += perWindow * batch;
      return {} as EncoderOutput;
    },
  };
  return measureEncoderLimit(model, {
    windowMs: 2400,
    stepMs: 240,
    batches,
    reps: 2,
    now: () => clock,
    beforeTimed: (batch) => events.push(`ready ${batch}`),
  });
}

Deno.test("encoder limit: the lanes meet after each size's warm-up call, before its timed calls", () => {
  const events: string[] = [];
  lane(5, [1, 2], events);
  assert.deepEqual(events, [
    "encode 1",
    "ready 1",
    "encode 1",
    "encode 1",
    "encode 2",
    "ready 2",
    "encode 2",
    "encode 2",
  ]);
});

Deno.test("encoder limit of lanes: their rates add up, each batch the lanes' windows together", () => {
  // Two lanes of 16 windows at 10 and 12.5 ms a window: 100 + 80 windows a second.
  const both = combineLanes([lane(10, [16]), lane(12.5, [16])]);
  assert.equal(both.lanes, 2);
  assert.deepEqual(both.rows, [{
    batch: 32,
    ms_per_call: 180,
    windows_per_s: 180,
    window_audio_s_per_s: 432,
    stream_limit: 43.2,
  }]);
  // One lane combined is itself.
  const one = lane(10, [8]);
  assert.deepEqual(combineLanes([one]).rows, one.rows);
  assert.throws(() => combineLanes([]), RangeError);
  assert.throws(() => combineLanes([lane(10, [16]), lane(10, [8])]), /different/);
});
