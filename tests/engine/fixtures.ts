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
