/**
 * MAX_ENCODED_STREAMS: how many streams of compressed audio may be open at once, each with its
 * ffmpeg decoder. Taken at admission (before the upgrade) and given back when the stream's
 * connection is released, so decoders never outnumber the slots.
 */
export class EncodedStreamSlots {
  readonly max: number;
  #held = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a slot; false when all are held. */
  tryAcquire(): boolean {
    if (this.#held >= this.max) return false;
    this.#held++;
    return true;
  }

  release(): void {
    if (this.#held > 0) this.#held--;
  }

  get held(): number {
    return this.#held;
  }
}
