// Run by hand: .tools/bin/deno run bench/micro/log_mel.ts
// Times log-mel features of 60 s of 16 kHz audio: offline (whole clip) and streamed in 20 ms
// frames with a normalised 10 s window every 240 ms step (what the streaming server does).
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { normalizePerFeature } from "../../src/audio/normalize_features.ts";

const SECONDS = 60;
const x = new Float32Array(16000 * SECONDS);
for (let i = 0; i < x.length; i++) {
  x[i] = 0.2 * Math.sin(i * 0.05) * Math.sin(i / 3000) + 0.05 * Math.sin(i * 0.9);
}
const ex = new LogMelExtractor();

function best(runs: number, fn: () => void): number {
  let b = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    fn();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
}

const offline = best(5, () => ex.extract(x));
console.log(
  `offline: ${SECONDS} s of audio in ${offline.toFixed(1)} ms ` +
    `(${(SECONDS / (offline / 1000)).toFixed(0)}× real time, ${
      (offline / (SECONDS * 100) * 1000).toFixed(1)
    } µs/frame)`,
);

const window = new Float32Array(128 * 1000);
const streamed = best(3, () => {
  const s = ex.createStream();
  let nextStep = 24; // frames: one step = 240 ms
  for (let off = 0; off < x.length; off += 320) {
    s.push(x.subarray(off, off + 320));
    if (s.frameCount >= nextStep) {
      const start = Math.max(0, s.frameCount - 1000);
      normalizePerFeature(s, start, s.frameCount, window, 1000);
      s.discardBefore(start);
      nextStep += 24;
    }
  }
  s.flush();
});
console.log(
  `streamed (20 ms pushes, 10 s window normalised every 240 ms): ${streamed.toFixed(1)} ms ` +
    `(${(SECONDS / (streamed / 1000)).toFixed(0)}× real time)`,
);
