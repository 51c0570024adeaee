/**
 * A map that holds at most `capacity` entries: setting a key makes it the newest, and a new key
 * past the capacity pushes out the least recently set one. For per-address state fed by
 * strangers, who could otherwise grow it without bound.
 */
export class RecentMap<K, V> {
  readonly capacity: number;
  // A Map iterates in insertion order; deleting before setting moves a key to the end.
  #entries = new Map<K, V>();

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
