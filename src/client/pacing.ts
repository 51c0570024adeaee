import { BYTES_PER_MS } from "./pcm.ts";

/**
 * When a frame may be sent. A paced client behaves like a microphone: the frame holding audio
 * up to byte `endByte` exists only once that much audio has been "recorded", i.e. at
 * `start + duration / rtf`. rtf 1 is real time, 10 is ten times faster, 0 is unpaced.
 */
export function frameDueMs(startMs: number, endByte: number, rtf: number): number {
  if (rtf <= 0) return startMs;
  return startMs + endByte / BYTES_PER_MS / rtf;
}

/** Resolves after `ms` (at once for ms ≤ 0); an aborted signal ends the wait early. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
