// Run by hand: .tools/bin/deno run bench/micro/resample.ts
// Times resampling 10 minutes of audio to 16 kHz from common rates (best of 3).
import { Resampler } from "../../src/audio/resample.ts";

const SECONDS = 600;
for (const rate of [48000, 44100, 22050, 8000]) {
  const x = new Float32Array(rate * SECONDS);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin(i * 0.05) + 0.1 * Math.sin(i * 1.3);
  const r = new Resampler(rate, 16000);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    r.process(x);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(
    `${rate} Hz → 16 kHz, ${SECONDS / 60} min: ${best.toFixed(0)} ms ` +
      `(${(SECONDS / (best / 1000)).toFixed(0)}× real time, ${2 * r.halfTaps} taps)`,
  );
}
