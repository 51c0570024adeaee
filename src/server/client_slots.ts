/**
 * Open streams per client address, so one address cannot take every stream slot. Entries exist
 * only while their address holds a stream: the map is never larger than the open streams.
 */
export class ClientSlots {
  readonly maxPerClient: number;
  #held = new Map<string, number>();

  constructor(maxPerClient: number) {
    this.maxPerClient = maxPerClient;
  }

  /** Takes a slot for `client`; false when it holds its maximum already. */
  tryAcquire(client: string): boolean {
    const held = this.#held.get(client) ?? 0;
    if (held >= this.maxPerClient) return false;
    this.#held.set(client, held + 1);
    return true;
  }

  release(client: string): void {
    const held = this.#held.get(client) ?? 0;
    if (held <= 1) this.#held.delete(client);
    else this.#held.set(client, held - 1);
  }

  held(client: string): number {
    return this.#held.get(client) ?? 0;
  }

  /** Addresses holding at least one slot. */
  get clients(): number {
    return this.#held.size;
  }
}
