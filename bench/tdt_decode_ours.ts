/**
 * Tokens/s of our batched greedy TDT decoding (one joint call per step for the whole batch) on
 * the given clips, from transcribeClips' own encode/decode split. Prints one JSON object.
 * Usage: deno run -A bench/tdt_decode_ours.ts MODEL_DIR REPEAT WAV...
 */
import { OrtRuntime } from "../ffi/mod.ts";
import { LogMelExtractor } from "../src/audio/log_mel.ts";
import { readAudioFile } from "../src/audio/read_audio.ts";
import { transcribeClips } from "../src/stream/offline_transcriber.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";

const [dir, repeatArg, ...files] = Deno.args;
using rt = OrtRuntime.load();
using model = ParakeetModel.load(rt, dir, { device: "cpu", session: { intraOpThreads: 1 } });
const extractor = new LogMelExtractor({ sampleRate: model.config.sampleRate });
const clips: Float32Array[] = [];
for (const f of files) clips.push((await readAudioFile(f)).samples);
const all = Array.from({ length: Number(repeatArg) }, () => clips).flat();
transcribeClips(model, extractor, all.slice(0, 2)); // warm-up
const { transcripts, stats } = transcribeClips(model, extractor, all);
const tokens = transcripts.reduce((a, t) => a + t.tokenIds.length, 0);
const frames = transcripts.reduce((a, t) => a + Math.ceil(t.audioSeconds / 0.08), 0);
console.log(JSON.stringify({
  decoder: `ours (batched, bound joint runs, ONNX Runtime ${rt.version}, 1 thread)`,
  utterances: all.length,
  tokens,
  encoder_frames_approx: frames,
  joint_calls: stats.jointCalls,
  decode_s: Math.round(stats.decodeMs) / 1000,
  tokens_per_s: Math.round(tokens / (stats.decodeMs / 1000) * 10) / 10,
  frames_per_s: Math.round(frames / (stats.decodeMs / 1000) * 10) / 10,
}));
