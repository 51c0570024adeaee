import { quotedValue } from "../protocol/quoted_value.ts";
import { StreamingResampler } from "./streaming_resampler.ts";

/** What `audio-start` announces (wyoming/audio.py AudioFormat). */
export interface AudioFormat {
  /** Hz. */
  rate: number;
  /** Bytes per sample: 1 (unsigned, as WAV stores it), 2 or 4 (signed little-endian). */
  width: number;
  channels: number;
}

/** Bounds past which a format is refused: no microphone sends these, a hostile peer might. */
export const AUDIO_FORMAT_BOUNDS = {
  minRate: 4000,
  maxRate: 192_000,
  widths: [1, 2, 4] as readonly number[],
  maxChannels: 8,
} as const;

/** The format of `data`, or why it is refused. */
export function parseAudioFormat(
  data: Record<string, unknown>,
): { ok: true; format: AudioFormat } | { ok: false; message: string } {
  const { rate, width, channels } = data;
  const b = AUDIO_FORMAT_BOUNDS;
  if (!Number.isInteger(rate) || (rate as number) < b.minRate || (rate as number) > b.maxRate) {
    return {
      ok: false,
      message: `Unsupported rate ${
        quotedValue(rate)
      }: expected a whole number of Hz from ${b.minRate} to ${b.maxRate}`,
    };
  }
  if (!b.widths.includes(width as number)) {
    return {
      ok: false,
      message: `Unsupported width ${quotedValue(width)}: expected 1, 2 or 4 bytes per sample`,
    };
  }
  if (
    !Number.isInteger(channels) || (channels as number) < 1 || (channels as number) > b.maxChannels
  ) {
    return {
      ok: false,
      message: `Unsupported channels ${quotedValue(channels)}: expected 1 to ${b.maxChannels}`,
    };
  }
  return {
    ok: true,
    format: { rate: rate as number, width: width as number, channels: channels as number },
  };
}

/**
 * Raw chunks of one format in, 16-bit mono little-endian PCM at `toRate` out: the bytes a /ws
 * client sends. Channels are averaged, then the signal is resampled. A frame split across
 * chunks is joined. 16-bit mono at `toRate` passes through untouched, so such audio is decoded
 * exactly as over /ws.
 */
export class PcmConverter {
  readonly format: AudioFormat;
  readonly #passthrough: boolean;
  readonly #resampler: StreamingResampler;
  readonly #frameBytes: number;
  /** Bytes of a frame cut at the end of the last chunk. */
  #carry = new Uint8Array(0);

  constructor(format: AudioFormat, toRate: number) {
    this.format = format;
    this.#passthrough = format.width === 2 && format.channels === 1 && format.rate === toRate;
    this.#resampler = new StreamingResampler(format.rate, toRate);
    this.#frameBytes = format.width * format.channels;
  }

  /** Converts one chunk; returns the PCM16 it completes (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#passthrough) return chunk;
    let bytes = chunk;
    if (this.#carry.length > 0) {
      bytes = new Uint8Array(this.#carry.length + chunk.length);
      bytes.set(this.#carry);
      bytes.set(chunk, this.#carry.length);
    }
    const frames = Math.floor(bytes.length / this.#frameBytes);
    this.#carry = bytes.slice(frames * this.#frameBytes);
    const mono = this.#downmix(bytes, frames);
    return toPcm16(this.#resampler.push(mono));
  }

  /** The audio has ended: the resampler's remaining output (a partial frame is dropped). */
  end(): Uint8Array {
    if (this.#passthrough) return new Uint8Array(0);
    this.#carry = new Uint8Array(0);
    return toPcm16(this.#resampler.end());
  }

  #downmix(bytes: Uint8Array, frames: number): Float32Array {
    const { width, channels } = this.format;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(frames);
    const scale = 1 / channels;
    for (let f = 0, at = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++, at += width) {
        switch (width) {
          case 1:
            sum += (view.getUint8(at) - 128) / 128;
            break;
          case 2:
            sum += view.getInt16(at, true) / 32768;
            break;
          default:
            sum += view.getInt32(at, true) / 2147483648;
        }
      }
      out[f] = sum * scale;
    }
    return out;
  }
}

/** Float samples → little-endian signed 16-bit, rounded and clipped. */
function toPcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
    view.setInt16(2 * i, v, true);
  }
  return out;
}
