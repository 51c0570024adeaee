import { fileURLToPath } from "node:url";
import { readAudioFile } from "../../src/audio/read_audio.ts";

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

/** The PCM16 bytes of a fixture clip's data chunk (fixtures are plain 44-byte-header WAVs). */
export function clipPcmBytes(clip: string): Uint8Array {
  const bytes = Deno.readFileSync(`${CLIPS_DIR}/${clip}`);
  const view = new DataView(bytes.buffer);
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = new TextDecoder().decode(bytes.subarray(off, off + 4));
    const size = view.getUint32(off + 4, true);
    if (id === "data") return bytes.subarray(off + 8, off + 8 + size);
    off += 8 + size + (size & 1);
  }
  throw new Error(`${clip}: no data chunk`);
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
  const wav = new Uint8Array(44 + bytes);
  const header = Deno.readFileSync(`${CLIPS_DIR}/${clips[0]}`).slice(0, 44);
  wav.set(header);
  new DataView(wav.buffer).setUint32(4, 36 + bytes, true);
  new DataView(wav.buffer).setUint32(40, bytes, true);
  let at = 44;
  for (const p of parts) {
    wav.set(p, at);
    at += p.length;
  }
  return { wav, pcm: wav.slice(44), texts };
}
