/**
 * A message's fragments gathered in one buffer that doubles as needed: memory stays within twice
 * the message limit however many fragments it comes in (a list of a million one-byte fragments
 * would cost far more than their bytes).
 */
export class Assembly {
  /** The first fragment's own payload, or (once #owned) a buffer of ours with spare room. */
  #buffer: Uint8Array | null = null;
  #owned = false;
  #length = 0;

  add(part: Uint8Array): void {
    if (this.#buffer === null) {
      this.#buffer = part;
      this.#length = part.length;
      return;
    }
    const need = this.#length + part.length;
    if (!this.#owned || need > this.#buffer.length) {
      const next = new Uint8Array(Math.max(need, 2 * this.#length, 1024));
      next.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = next;
      this.#owned = true;
    }
    this.#buffer.set(part, this.#length);
    this.#length = need;
  }

  /** The whole message (exactly its bytes), leaving the assembly empty. */
  take(): Uint8Array {
    const b = this.#buffer;
    const out = b === null
      ? new Uint8Array(0)
      : this.#length === b.length
      ? b
      : b.slice(0, this.#length);
    this.#buffer = null;
    this.#owned = false;
    this.#length = 0;
    return out;
  }
}
