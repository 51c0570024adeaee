/**
 * Batched offline encoder throughput for one streaming window length, the ceiling of streaming
 * capacity: a stream at step C with window L+C+R needs (L+C+R)/C seconds of encoder input per
 * second of audio. Prints one JSON object.
 * Usage: deno run -A bench/encoder_limit.ts MODEL_DIR WINDOW_MS STEP_MS BATCH[,BATCH…] [REPS]
 */
import { OrtRuntime } from "../ffi/mod.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";

const [dir, windowArg, stepArg, batchesArg, repsArg] = Deno.args;
const windowMs = Number(windowArg), stepMs = Number(stepArg), reps = Number(repsArg ?? 3);
const frames = windowMs / 10;
using rt = OrtRuntime.load();
using model = ParakeetModel.load(rt, dir, { device: "cpu" });
const rows = [];
for (const batch of batchesArg.split(",").map(Number)) {
  const feats = new Float32Array(batch * model.featuresSize * frames).map(() => Math.random());
  const lengths = new Array(batch).fill(frames);
  model.encode(feats, batch, frames, lengths); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) model.encode(feats, batch, frames, lengths);
  const sPerCall = (performance.now() - t0) / 1000 / reps;
  const windowAudioPerS = (batch * windowMs / 1000) / sPerCall;
  rows.push({
    batch,
    ms_per_call: Math.round(sPerCall * 10000) / 10,
    window_audio_s_per_s: Math.round(windowAudioPerS * 100) / 100,
    // Streams that the encoder alone could hold: each needs windowMs/stepMs s of input per s.
    stream_limit: Math.round(windowAudioPerS / (windowMs / stepMs) * 10) / 10,
  });
}
console.log(JSON.stringify({
  window_ms: windowMs,
  step_ms: stepMs,
  recompute_factor: windowMs / stepMs,
  rows,
}));
