/**
 * The long utterance the capacity benchmarks stream: every fixture clip joined in name order
 * (18.3 s). The capacity model prices a stream's steady state, full windows of
 * LEFT + STEP + RIGHT ms; short clips sent as one utterance each keep many windows short (no
 * left context yet) and add a final window at each EOS, so they measure a different load.
 */
import { loadClipPcm16 } from "../client/load_clip.ts";

/** Where the fixture clips are, from the repository root. */
export const FIXTURE_CLIPS_DIR = "tests/fixtures/clips";

/** The clips joined as PCM16 LE mono 16 kHz. */
export async function joinedClipsPcm16(dir: string): Promise<Uint8Array> {
  const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".wav"))
    .map((e) => e.name).sort();
  if (names.length === 0) throw new Error(`no .wav clips in ${dir}`);
  const parts = await Promise.all(names.map(async (n) => (await loadClipPcm16(`${dir}/${n}`)).pcm));
  return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
}

/** PCM16 LE mono 16 kHz wrapped in a 44-byte WAV header. */
export function pcm16Wav(pcm: Uint8Array): Uint8Array<ArrayBuffer> {
  const wav = new Uint8Array(44 + pcm.length);
  const v = new DataView(wav.buffer);
  const tag = (at: number, s: string) =>
    [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  tag(0, "RIFF");
  v.setUint32(4, 36 + pcm.length, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, 16000, true);
  v.setUint32(28, 32000, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  tag(36, "data");
  v.setUint32(40, pcm.length, true);
  wav.set(pcm, 44);
  return wav;
}

/** The joined clips written as a WAV file in a new temporary directory; its path. */
export async function writeJoinedClipsWav(dir: string): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "parakeet-long-utterance-" });
  const path = `${tmp}/long_utterance.wav`;
  await Deno.writeFile(path, pcm16Wav(await joinedClipsPcm16(dir)));
  return path;
}
