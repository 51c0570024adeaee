/**
 * The encoder's time subsampling: FastConformer turns feature frames (one per `windowStride` of
 * audio) into encoder frames through stride-2 convolutions, `subsampling` feature frames each.
 */

/** Encoder frames the FastConformer produces for `frames` feature frames (three stride-2 convs). */
export function encodedLength(frames: number, subsampling: number): number {
  let n = frames;
  for (let s = subsampling; s > 1; s /= 2) n = Math.ceil(n / 2);
  return n;
}

/**
 * `frames` rounded to whole encoder frames (at least one). A chunk boundary inside an encoder
 * frame splits that frame between two steps, and when the left context is cut short at the
 * start of the stream the chunk's first encoder frame lands at a fractional offset in the
 * window: reading it gave NaN logits (FILE_CHUNK_S=1: 100 frames at subsampling 8).
 */
export function wholeEncoderFrames(frames: number, subsampling: number): number {
  return Math.max(subsampling, Math.round(frames / subsampling) * subsampling);
}
