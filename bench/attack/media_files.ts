/** The files the upload and compressed-audio attacks send, made on the spot (ffmpeg, sox). */
import { fileURLToPath } from "node:url";
import { wavPcm16Mono16k } from "../../src/audio/wav.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLIP = `${ROOT}tests/fixtures/clips/digits_pi.wav`;

/** The PCM16 samples of the neighbour's clip (its WAV data chunk). */
export function clipPcm(path = CLIP): Uint8Array {
  return wavPcm16Mono16k(Deno.readFileSync(path), path);
}

/** A canonical PCM WAV with whatever header values the attack wants, true or not. */
export function wavBytes(o: { rate: number; bits: 8 | 16; channels: number; data: Uint8Array }) {
  const out = new Uint8Array(44 + o.data.length);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => out[at + i] = c.charCodeAt(0));
  const blockAlign = o.channels * o.bits / 8;
  ascii(0, "RIFF");
  v.setUint32(4, 36 + o.data.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, o.channels, true);
  v.setUint32(24, o.rate, true);
  v.setUint32(28, o.rate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, o.bits, true);
  ascii(36, "data");
  v.setUint32(40, o.data.length, true);
  out.set(o.data, 44);
  return out;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
}

/** The clip encoded by ffmpeg into `ext` (ogg, webm, flac, mp3) with `codec`. */
export async function encodedClip(ext: string, codec: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "attack-media-" });
  try {
    const out = `${dir}/clip.${ext}`;
    await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", CLIP, "-c:a", codec, out]);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `seconds` of silence as 16 kHz mono FLAC (sox): tiny on disk, long when decoded. */
export async function silentFlac(seconds: number): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "attack-media-" });
  try {
    const out = `${dir}/silence.flac`;
    await run("sox", ["-n", "-r", "16000", "-c", "1", out, "trim", "0", String(seconds)]);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An HLS playlist whose one segment is a file on the server's disk. */
export function localFilePlaylist(path = CLIP): Uint8Array {
  return new TextEncoder().encode(
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n${path}\n#EXTINF:3.0,\nfile://${path}\n#EXT-X-ENDLIST\n`,
  );
}

/** Containers a client might send on /ws by mistake: the format's name, file type and codec. */
export const COMPRESSED_FORMATS = [
  { format: "Ogg", ext: "ogg", codec: "libvorbis" },
  { format: "WebM", ext: "webm", codec: "libopus" },
  { format: "FLAC", ext: "flac", codec: "flac" },
  { format: "MP3 (ID3)", ext: "mp3", codec: "libmp3lame" },
] as const;

/** Files made before the attacks, so no attack waits for an encoder while it is timed. */
export interface Media {
  /** One hour of silence as FLAC. */
  silentFlacHour: Uint8Array;
  /** The clip in each of COMPRESSED_FORMATS, by `ext`. */
  compressed: Record<string, Uint8Array>;
}

/**
 * Files kept between runs under bench/work/ (not committed): sox takes seconds of CPU to write
 * an hour of FLAC, which a one-minute run on a loaded machine cannot spare every time.
 */
const CACHE = `${ROOT}bench/work/attack-media`;

async function cached(name: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
  const path = `${CACHE}/${name}`;
  try {
    return await Deno.readFile(path);
  } catch {
    const bytes = await make();
    await Deno.mkdir(CACHE, { recursive: true });
    // Written aside and renamed, so a run stopped midway never leaves half a file to reuse.
    const part = `${path}.${Deno.pid}.part`;
    await Deno.writeFile(part, bytes);
    await Deno.rename(part, path);
    return bytes;
  }
}

export async function prepareMedia(): Promise<Media> {
  const [silentFlacHour, ...encoded] = await Promise.all([
    cached("silence-3600s.flac", () => silentFlac(3600)),
    ...COMPRESSED_FORMATS.map((f) =>
      cached(`digits_pi.${f.ext}`, () => encodedClip(f.ext, f.codec))
    ),
  ]);
  return {
    silentFlacHour,
    compressed: Object.fromEntries(COMPRESSED_FORMATS.map((f, i) => [f.ext, encoded[i]])),
  };
}
