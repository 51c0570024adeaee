import { encodedLength } from "../model/subsampling.ts";

/**
 * Where each streaming step's window falls. Parakeet's encoder is not cache-aware, so step k
 * re-encodes `[left | chunk k | right]` and keeps only the encoder frames of chunk k. All
 * positions are in feature frames (one per the model's window_stride); encoder frames are
 * `subsampling` feature frames.
 */
export interface StepGeometry {
  /** Chunk length C, a multiple of `subsampling`. */
  chunkFrames: number;
  /** Left context L, a multiple of `subsampling`. */
  leftFrames: number;
  /** Right context R. */
  rightFrames: number;
  subsampling: number;
}

export interface StepWindow {
  /** Chunk index k. */
  index: number;
  /** Feature frames [windowStart, windowEnd) go to the encoder. */
  windowStart: number;
  windowEnd: number;
  /** Feature frames [chunkStart, chunkEnd) are the ones this step decodes. */
  chunkStart: number;
  chunkEnd: number;
  /** The chunk's encoder frames, as an offset and count within the window's encoder output. */
  encoderOffset: number;
  encoderCount: number;
  /**
   * Chunks this step decodes: 1, or at the end of the stream every chunk left (`planStep`), so
   * the next step is chunk `index + chunks`.
   */
  chunks: number;
}

/**
 * Throws when chunk or left context is not whole encoder frames: a chunk would then start at a
 * fractional encoder frame of its window, and the decoder would read past the encoder's output.
 */
export function checkGeometry(g: StepGeometry): void {
  const whole = (n: number) => Number.isInteger(n / g.subsampling);
  if (!(g.chunkFrames > 0 && whole(g.chunkFrames) && whole(g.leftFrames))) {
    throw new RangeError(
      `chunk (${g.chunkFrames}) and left context (${g.leftFrames}) must be whole encoder frames (multiples of ${g.subsampling} feature frames)`,
    );
  }
}

/**
 * The window of chunk `index`, or null when it is not ready yet (or, after the end, decoded by an
 * earlier step). Before the end of the stream a chunk waits for its full right context, so every
 * window is the same whatever the timing and framing of the audio. Once the stream has ended
 * (`totalFrames` known), the first chunk whose right context the stream cut short decodes the
 * rest of the stream: its window already ends at the last frame, and a window for each chunk
 * after it would encode the same audio again (a second window at the defaults when the end falls
 * in a chunk's first 150 ms; one whole-stream window per chunk when the right context is longer
 * than the stream).
 */
export function planStep(
  g: StepGeometry,
  index: number,
  availableFrames: number,
  totalFrames: number | null,
): StepWindow | null {
  const chunkStart = index * g.chunkFrames;
  const end = totalFrames ?? availableFrames;
  let chunks = 1;
  if (totalFrames !== null) {
    if (chunkStart >= totalFrames) return null;
    const tail = tailChunk(g, totalFrames);
    if (index > tail) return null;
    if (index === tail) chunks = Math.ceil((totalFrames - chunkStart) / g.chunkFrames);
  } else if (chunkStart + g.chunkFrames + g.rightFrames > availableFrames) {
    return null;
  }
  const chunkEnd = Math.min(chunkStart + chunks * g.chunkFrames, end);
  const windowStart = Math.max(0, chunkStart - g.leftFrames);
  const windowEnd = Math.min(chunkStart + g.chunkFrames + g.rightFrames, end);
  const encoderOffset = (chunkStart - windowStart) / g.subsampling;
  const encoderEnd = Math.min(
    encodedLength(chunkEnd - windowStart, g.subsampling),
    encodedLength(windowEnd - windowStart, g.subsampling),
  );
  return {
    index,
    windowStart,
    windowEnd,
    chunkStart,
    chunkEnd,
    encoderOffset,
    encoderCount: encoderEnd - encoderOffset,
    chunks,
  };
}

/** The first chunk of a stream of `totalFrames` frames whose right context the end cuts short. */
function tailChunk(g: StepGeometry, totalFrames: number): number {
  return Math.max(0, Math.floor((totalFrames - g.rightFrames) / g.chunkFrames));
}
