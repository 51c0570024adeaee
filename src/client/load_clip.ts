import { AudioFileError } from "../audio/audio_error.ts";
import { readAudioFile } from "../audio/read_audio.ts";
import { floatToPcm16 } from "./pcm.ts";

/** A file as the wire wants it: PCM16 LE mono 16 kHz (any readable format, resampled). */
export async function loadClipPcm16(path: string): Promise<{ pcm: Uint8Array; seconds: number }> {
  let audio;
  try {
    audio = await readAudioFile(path);
  } catch (err) {
    if (err instanceof AudioFileError) throw err;
    throw new Error(`Cannot read audio file "${path}": ${(err as Error).message}`);
  }
  if (audio.samples.length === 0) {
    throw new Error(`Cannot stream audio file "${path}": it holds no samples`);
  }
  return { pcm: floatToPcm16(audio.samples), seconds: audio.durationSec };
}
