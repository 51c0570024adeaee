/** Scale of a signed 16-bit sample: float = int16 / 32768, so −32768 → −1 and 32767 → 0.99997. */
export const PCM16_SCALE = 1 / 32768;

/**
 * Little-endian signed 16-bit PCM → float32 in [−1, 1). Decodes floor(bytes.length / 2)
 * samples into `out` (allocated if absent; must hold them) and returns the filled view.
 * Works at any byte offset (no Int16Array alignment requirement).
 */
export function pcm16ToFloat32(bytes: Uint8Array, out?: Float32Array): Float32Array {
  const n = bytes.length >> 1;
  const dst = out ?? new Float32Array(n);
  if (dst.length < n) {
    throw new RangeError(
      `Cannot decode ${n} PCM16 samples into an array of ${dst.length} floats`,
    );
  }
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    dst[i] = (((bytes[j] | (bytes[j + 1] << 8)) << 16) >> 16) * PCM16_SCALE;
  }
  return out === undefined ? dst : dst.subarray(0, n);
}

/**
 * Stateful PCM16 decoder for a byte stream cut at arbitrary points: an odd trailing byte of
 * one chunk is kept and joined with the first byte of the next.
 */
export class Pcm16Decoder {
  #pending = -1;

  /** True while one byte of a split sample is waiting for its partner. */
  get hasPendingByte(): boolean {
    return this.#pending >= 0;
  }

  /** Number of samples `decodeInto` will write for a chunk of `byteLength` bytes. */
  samplesFor(byteLength: number): number {
    return (byteLength + (this.#pending >= 0 ? 1 : 0)) >> 1;
  }

  /**
   * Decodes `chunk` into `out` at `outOffset` without allocating; returns the number of
   * samples written (`samplesFor(chunk.length)`).
   */
  decodeInto(chunk: Uint8Array, out: Float32Array, outOffset = 0): number {
    const count = this.samplesFor(chunk.length);
    if (outOffset < 0 || outOffset + count > out.length) {
      throw new RangeError(
        `Cannot decode ${count} PCM16 samples at offset ${outOffset} into an array of ${out.length} floats`,
      );
    }
    let i = 0;
    let o = outOffset;
    if (this.#pending >= 0 && chunk.length > 0) {
      out[o++] = (((this.#pending | (chunk[0] << 8)) << 16) >> 16) * PCM16_SCALE;
      this.#pending = -1;
      i = 1;
    }
    const end = chunk.length - 1;
    for (; i < end; i += 2) {
      out[o++] = (((chunk[i] | (chunk[i + 1] << 8)) << 16) >> 16) * PCM16_SCALE;
    }
    if (i === end) this.#pending = chunk[end];
    return o - outOffset;
  }

  /** Decodes `chunk` into a new Float32Array. */
  decode(chunk: Uint8Array): Float32Array {
    const out = new Float32Array(this.samplesFor(chunk.length));
    this.decodeInto(chunk, out);
    return out;
  }

  /** Drops a pending odd byte (new utterance / stream reset). */
  reset(): void {
    this.#pending = -1;
  }
}
