import assert from "node:assert/strict";
import { Resampler } from "../../src/audio/resample.ts";
import { StreamResampler } from "../../src/realtime/stream_resampler.ts";

/** A deterministic test signal: a chirp with some noise. */
function signal(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = 0.5 * Math.sin(i * i * 1e-5) + 0.1 * (s / 2147483648 - 0.5);
  }
  return out;
}

function streamed(input: Float32Array, from: number, to: number, cuts: number[]): Float32Array {
  const r = new StreamResampler(from, to);
  const parts: Float32Array[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    parts.push(r.push(input.subarray(at, cut)));
    at = cut;
  }
  parts.push(r.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("streamed in pieces, the resampler gives exactly the whole-signal output", () => {
  for (const [from, to] of [[24000, 16000], [8000, 16000]]) {
    const input = signal(from / 2 + 7);
    const whole = new Resampler(from, to).process(input);
    for (
      const cuts of [
        [],
        [1],
        [5, 6, 7, 8, 1000, 1001],
        Array.from({ length: 40 }, (_, i) => (i + 1) * 293),
        Array.from({ length: 12 }, (_, i) => (i + 1) * 480),
      ]
    ) {
      const out = streamed(input, from, to, cuts.filter((c) => c < input.length));
      assert.equal(out.length, whole.length, `${from}→${to} ${cuts.length} cuts`);
      assert.deepEqual(out, whole, `${from}→${to} ${cuts.length} cuts`);
    }
  }
});

Deno.test("the streaming resampler holds back only the filter's reach, and flush starts afresh", () => {
  const r = new StreamResampler(24000, 16000);
  const out = r.push(signal(24000));
  const reach = new Resampler(24000, 16000).halfTaps;
  // All but about the filter's half length (in output samples) comes out at once.
  assert.ok(out.length >= 16000 - reach, `${out.length} of 16000`);
  assert.equal(out.length + r.flush().length, 16000);
  // After a flush, the next input is a new signal.
  const again = r.push(signal(2400, 2));
  const fresh = new StreamResampler(24000, 16000).push(signal(2400, 2));
  assert.deepEqual(again, fresh);
});

Deno.test("equal rates pass samples through", () => {
  const r = new StreamResampler(16000, 16000);
  const input = signal(100);
  assert.equal(r.push(input), input);
  assert.equal(r.flush().length, 0);
});
