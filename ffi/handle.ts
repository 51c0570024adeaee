/**
 * One owner per native handle. A NativeHandle holds the pointer in a #private field, releases it
 * exactly once (`close()` is idempotent), and counts live handles per kind so tests can prove
 * nothing leaks. A FinalizationRegistry is only a safety net for handles their owner forgot to
 * close: it must never be what keeps a program's memory bounded.
 */

export type HandleKind =
  | "env"
  | "sessionOptions"
  | "session"
  | "value"
  | "runOptions"
  | "memoryInfo"
  | "cudaProviderOptions"
  | "ioBinding";

type Release = (p: Deno.PointerObject) => void;
interface Held {
  kind: HandleKind;
  pointer: Deno.PointerObject;
  release: Release;
}

const live: Record<HandleKind, number> = {
  env: 0,
  sessionOptions: 0,
  session: 0,
  value: 0,
  runOptions: 0,
  memoryInfo: 0,
  cudaProviderOptions: 0,
  ioBinding: 0,
};
let finalizedCount = 0;

// The held value must not reference the NativeHandle itself, or it would never be collected.
const registry = new FinalizationRegistry<Held>((held) => {
  finalizedCount++;
  live[held.kind]--;
  held.release(held.pointer);
});

export class NativeHandle {
  #pointer: Deno.PointerObject | null;
  readonly kind: HandleKind;
  #release: Release;

  constructor(kind: HandleKind, pointer: Deno.PointerObject, release: Release) {
    this.kind = kind;
    this.#pointer = pointer;
    this.#release = release;
    live[kind]++;
    registry.register(this, { kind, pointer, release }, this);
  }

  /** The pointer, for calls made inside ffi/; throws once the handle is closed. */
  get pointer(): Deno.PointerObject {
    if (this.#pointer === null) throw new Error(`ONNX Runtime ${this.kind} is already closed`);
    return this.#pointer;
  }

  get closed(): boolean {
    return this.#pointer === null;
  }

  close(): void {
    const p = this.#pointer;
    if (p === null) return;
    this.#pointer = null;
    registry.unregister(this);
    live[this.kind]--;
    this.#release(p);
  }
}

/** Live native handles per kind, plus how many the safety net had to release. */
export function nativeHandleStats(): Record<HandleKind, number> & { finalized: number } {
  return { ...live, finalized: finalizedCount };
}

/**
 * A wrapper that owns one NativeHandle: its pointer for calls made inside ffi/, an idempotent
 * `close()`, and `using`. The subclass creates the handle in its constructor.
 */
export abstract class NativeOwner implements Disposable {
  protected abstract readonly handle: NativeHandle;

  get pointer(): Deno.PointerObject {
    return this.handle.pointer;
  }

  close(): void {
    this.handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
