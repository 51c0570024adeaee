/**
 * MAX_UPLOADS as reservations: a slot is taken before the first byte of a body is read and
 * released when the request is done on whatever path it ends (answered, refused, failed, client
 * gone, aborted), so uploads at once — their bodies, decoders and ffmpeg runs — never pass the
 * limit, however many arrive together.
 */
export class UploadSlots {
  #inUse = 0;

  constructor(readonly capacity: number) {}

  /** Slots held now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** A slot's release function (idempotent), or null when all are taken. */
  tryAcquire(): (() => void) | null {
    if (this.#inUse >= this.capacity) return null;
    this.#inUse++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#inUse--;
    };
  }
}
