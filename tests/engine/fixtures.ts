import { fileURLToPath } from "node:url";
import { readAudioFile } from "../../src/audio/read_audio.ts";
import { wavPcm16Mono16k } from "../../src/audio/wav.ts";
import { wavOf } from "../audio/wav_header.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const TINY_MODEL = `${ROOT}models/test/tiny-tdt`;
export const CLIPS_DIR = `${ROOT}tests/fixtures/clips`;
export const REFERENCE_DIR = `${ROOT}tests/fixtures/reference`;

export interface DecoderReference {
  tokens: number[];
  timestamps: number[];
  text: string;
}

/** What NeMo (and onnx-asr) produced for one fixture clip from the committed model. */
export interface ClipReference extends DecoderReference {
  clip: string;
  num_samples: number;
  durations: number[];
  onnx_asr: DecoderReference;
  onnx_asr_int8: DecoderReference;
}

export function fixtureClips(): string[] {
  return [...Deno.readDirSync(CLIPS_DIR)]
    .filter((e) => e.name.endsWith(".wav"))
    .map((e) => e.name)
    .sort();
}

export function reference(clip: string): ClipReference {
  return JSON.parse(Deno.readTextFileSync(`${REFERENCE_DIR}/${clip.replace(/\.wav$/, ".json")}`));
}

export async function clipSamples(clip: string): Promise<Float32Array> {
  return (await readAudioFile(`${CLIPS_DIR}/${clip}`)).samples;
}

/** The PCM16 bytes of a fixture clip's data chunk (fixtures are PCM16 mono 16 kHz WAVs). */
export function clipPcmBytes(clip: string): Uint8Array {
  return wavPcm16Mono16k(Deno.readFileSync(`${CLIPS_DIR}/${clip}`), clip);
}

/**
 * A long recording made of the fixture clips back to back, each followed by `gapMs` of
 * silence, repeated until it lasts at least `seconds`: a 16 kHz mono PCM16 WAV, and the texts
 * of the clips in order.
 */
export function longClipWav(
  seconds: number,
  gapMs = 300,
): { wav: Uint8Array<ArrayBuffer>; pcm: Uint8Array<ArrayBuffer>; texts: string[] } {
  const clips = fixtureClips();
  const gap = new Uint8Array(Math.round(gapMs * 32));
  const parts: Uint8Array[] = [];
  const texts: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < seconds * 32000; i++) {
    const clip = clips[i % clips.length];
    const pcm = clipPcmBytes(clip);
    parts.push(pcm, gap);
    texts.push(reference(clip).text);
    bytes += pcm.length + gap.length;
  }
  const pcm = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    pcm.set(p, at);
    at += p.length;
  }
  return { wav: wavOf(pcm), pcm, texts };
}
