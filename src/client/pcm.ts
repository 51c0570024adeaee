/** PCM16 helpers for the clients: the wire format is raw PCM16 little-endian mono 16 kHz. */

export const SAMPLE_RATE = 16000;
/** Bytes of PCM16 audio per millisecond at 16 kHz. */
export const BYTES_PER_MS = (SAMPLE_RATE * 2) / 1000;

/** Float samples in [-1, 1] (clipped outside) to PCM16 LE bytes, rounding to nearest. */
export function floatToPcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return out;
}

/**
 * The seed benchmark's synthetic input: a steady sine tone. A tone carries no speech, so a real
 * model may emit no tokens (and so no partials) for it; a speech file measures partial latency.
 */
export function toneSamples(seconds: number, freqHz = 440, amplitude = 0.2): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Float32Array(n);
  const w = (2 * Math.PI * freqHz) / SAMPLE_RATE;
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin(w * i);
  return out;
}

/** Milliseconds of audio in `bytes` of PCM16 at 16 kHz. */
export function bytesToMs(bytes: number): number {
  return bytes / BYTES_PER_MS;
}

/** Bytes per frame of `frameMs` milliseconds (an even number, so frames never split a sample). */
export function frameBytesFor(frameMs: number): number {
  return Math.max(2, Math.round(frameMs * BYTES_PER_MS / 2) * 2);
}
