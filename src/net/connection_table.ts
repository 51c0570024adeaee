/**
 * Admission of TCP connections: a total cap and a cap per client address, HTTP and WebSocket
 * alike. Pure bookkeeping; the listener asks before it reads a byte and tells when a
 * connection is gone.
 */
export type AdmissionRefusal = "max_connections" | "max_connections_per_client";

export class ConnectionTable {
  readonly maxTotal: number;
  readonly maxPerClient: number;
  readonly #perClient = new Map<string, number>();
  #open = 0;

  constructor(maxTotal: number, maxPerClient: number) {
    this.maxTotal = maxTotal;
    this.maxPerClient = maxPerClient;
  }

  /** Counts the connection in and returns null, or names the cap it would pass. */
  admit(client: string): AdmissionRefusal | null {
    if (this.#open >= this.maxTotal) return "max_connections";
    const mine = this.#perClient.get(client) ?? 0;
    if (mine >= this.maxPerClient) return "max_connections_per_client";
    this.#open++;
    this.#perClient.set(client, mine + 1);
    return null;
  }

  /** Counts an admitted connection out. */
  release(client: string): void {
    const mine = this.#perClient.get(client) ?? 0;
    if (mine <= 0) return;
    this.#open--;
    if (mine === 1) this.#perClient.delete(client);
    else this.#perClient.set(client, mine - 1);
  }

  get open(): number {
    return this.#open;
  }

  openFrom(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }
}

/**
 * The connection cap actually used: the configured one, kept well below the open-file limit so
 * that the model, the log, refusals in progress and the runtime's own descriptors (about 35
 * for the server) have room. A quarter of the limit is held back, and at least 64 descriptors
 * (at most half the limit).
 */
export function effectiveConnectionCap(configured: number, fileLimit: number): number {
  if (!Number.isFinite(fileLimit)) return configured;
  const reserve = Math.max(Math.ceil(fileLimit / 4), Math.min(64, Math.ceil(fileLimit / 2)));
  return Math.max(1, Math.min(configured, fileLimit - reserve));
}
