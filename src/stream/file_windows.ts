/**
 * How a whole file is cut into streaming windows, for uploads and `transcribe` alike, and the
 * one limit every window must respect: the encoder's relative positional table. A window longer
 * than the table fails inside the encoder's attention (ONNX Runtime's broadcast error), so files
 * of any length are decoded as `[left | chunk | right]` windows that fit it, with the decoder
 * state carried from chunk to chunk.
 */
import { encodedLength, wholeEncoderFrames } from "../model/subsampling.ts";
import type { StepGeometry } from "./step_plan.ts";

/**
 * Context of a file's windows, in ms: the right context of uploads and `transcribe` (a file is
 * not waiting for live audio), and the left context of `transcribe` when a file needs more than
 * one window (as live). In feature frames: `frameGeometry` (frame_geometry.ts).
 */
export const FILE_CONTEXT_MS = 2000;

/** Feature frames of the longest window: left + chunk + right, and NeMo's masked last column. */
export function longestWindowFrames(g: StepGeometry): number {
  return g.leftFrames + g.chunkFrames + g.rightFrames + 1;
}

/** Encoder frames of the longest window of `g`: what must fit the positional table. */
export function longestWindowEncoderFrames(g: StepGeometry): number {
  return encodedLength(longestWindowFrames(g), g.subsampling);
}

/**
 * The windows of an uploaded file: chunks of about `chunkFrames`, `contextFrames` (FILE_CONTEXT_MS)
 * of right context.
 */
export function fileChunkGeometry(
  chunkFrames: number,
  leftFrames: number,
  subsampling: number,
  contextFrames: number,
): StepGeometry {
  return {
    chunkFrames: wholeEncoderFrames(chunkFrames, subsampling),
    leftFrames,
    rightFrames: contextFrames,
    subsampling,
  };
}

/**
 * `transcribe`'s windows for a file of `totalFrames` feature frames: the whole file as one
 * window when it fits the table (exactly what NeMo's offline `transcribe` encodes), else the
 * largest chunks whose windows fit it, with `contextFrames` (FILE_CONTEXT_MS) of context on
 * each side.
 */
export function offlineGeometry(
  totalFrames: number,
  subsampling: number,
  maxEncoderFrames: number,
  contextFrames: number,
): StepGeometry {
  const whole = {
    chunkFrames: Math.max(subsampling, Math.ceil(totalFrames / subsampling) * subsampling),
    leftFrames: 0,
    rightFrames: 0,
    subsampling,
  };
  if (encodedLength(totalFrames + 1, subsampling) <= maxEncoderFrames) return whole;
  const context = contextFrames + contextFrames + 1;
  const chunkFrames = Math.floor((maxEncoderFrames * subsampling - context) / subsampling) *
    subsampling;
  if (chunkFrames < subsampling) {
    throw new RangeError(
      `The model's positional table (${maxEncoderFrames} encoder frames) is shorter than the ${context} feature frames of context a file's windows need`,
    );
  }
  return {
    chunkFrames,
    leftFrames: contextFrames,
    rightFrames: contextFrames,
    subsampling,
  };
}

/**
 * Why a geometry's windows would not fit the table (null when they do), naming the knobs that
 * make the window: `knobs` says how the window's length is made up, for the message.
 */
export function windowTooLong(
  g: StepGeometry,
  maxEncoderFrames: number,
  knobs: string,
  secondsPerFrame: number,
): string | null {
  if (longestWindowEncoderFrames(g) <= maxEncoderFrames) return null;
  const s = (frames: number) => `${+(frames * secondsPerFrame).toFixed(2)} s`;
  return `${knobs} make windows of ${
    s(longestWindowFrames(g) - 1)
  }, longer than the model's positional table: ${maxEncoderFrames} encoder frames (${
    s(maxEncoderFrames * g.subsampling)
  }, pos_emb_max_len). The encoder cannot attend over a longer window; make them shorter`;
}
