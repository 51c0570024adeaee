import { Pcm16Decoder } from "../audio/pcm16.ts";
import { decodeAlaw, decodeMulaw } from "./g711.ts";
import type { AudioFormat } from "./realtime_events.ts";
import { StreamResampler } from "./stream_resampler.ts";

/** The rate the model hears. */
export const MODEL_RATE = 16000;

/** Input rate of each format. */
export function formatRate(format: AudioFormat): number {
  return format.type === "audio/pcm" ? format.rate : 8000;
}

/**
 * The input audio buffer's decoder: appended bytes in the session's format → float samples at
 * the model's rate. A PCM16 sample split across two appends is joined; the resampler's tail
 * waits for the commit (`flush`).
 */
export class InputAudio {
  readonly format: AudioFormat;
  readonly #pcm = new Pcm16Decoder();
  readonly #resampler: StreamResampler;
  /** Input bytes since the last flush or reset. */
  #bytes = 0;

  constructor(format: AudioFormat) {
    this.format = format;
    this.#resampler = new StreamResampler(formatRate(format), MODEL_RATE);
  }

  /** Milliseconds of input audio since the last flush or reset. */
  get bufferedMs(): number {
    const bytesPerSample = this.format.type === "audio/pcm" ? 2 : 1;
    return (this.#bytes / bytesPerSample) / formatRate(this.format) * 1000;
  }

  push(bytes: Uint8Array): Float32Array {
    this.#bytes += bytes.length;
    return this.#resampler.push(this.#decode(bytes));
  }

  /** The rest of the buffer's audio; the next append starts a new buffer. */
  flush(): Float32Array {
    const out = this.#resampler.flush();
    this.reset();
    return out;
  }

  /** Drops the buffer's audio not yet returned. */
  reset(): void {
    this.#resampler.reset();
    // A dangling byte of the dropped buffer must not pair with the next one's first.
    this.#pcm.reset();
    this.#bytes = 0;
  }

  #decode(bytes: Uint8Array): Float32Array {
    switch (this.format.type) {
      case "audio/pcm": {
        return this.#pcm.decode(bytes);
      }
      case "audio/pcmu":
        return decodeMulaw(bytes);
      case "audio/pcma":
        return decodeAlaw(bytes);
    }
  }
}
