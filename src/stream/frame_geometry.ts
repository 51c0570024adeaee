/**
 * Knobs in time → windows in feature frames, in one place for live streams, uploads and
 * `transcribe`. A feature frame is the model's `window_stride` (10 ms for Parakeet); encoder
 * frames are `subsampling_factor` feature frames.
 */
import { FILE_CONTEXT_MS, fileChunkGeometry } from "./file_windows.ts";
import type { StepGeometry } from "./step_plan.ts";

/** What the geometry needs of the model's config. */
export interface FrameModel {
  /** Seconds of audio per feature frame. */
  windowStride: number;
  subsamplingFactor: number;
}

/** The knobs that shape the windows (ServerConfig's names). */
export interface WindowKnobs {
  stepMs: number;
  leftContextMs: number;
  rightContextMs: number;
  fileChunkS: number;
}

export interface FrameGeometry {
  /** Milliseconds per feature frame. */
  frameMs: number;
  /** A live stream's windows: STEP_MS chunks, LEFT_CONTEXT_MS before, RIGHT_CONTEXT_MS after. */
  stream: StepGeometry;
  /**
   * An uploaded file's windows: FILE_CHUNK_S chunks rounded to whole encoder frames,
   * LEFT_CONTEXT_MS before, FILE_CONTEXT_MS after.
   */
  upload: StepGeometry;
}

/** Milliseconds per feature frame of `model`. */
export function frameMs(model: Pick<FrameModel, "windowStride">): number {
  return model.windowStride * 1000;
}

/** Feature frames in `ms` milliseconds. */
export function framesInMs(ms: number, model: Pick<FrameModel, "windowStride">): number {
  return ms / frameMs(model);
}

/** Feature frames in `s` seconds. */
export function framesInSeconds(s: number, model: Pick<FrameModel, "windowStride">): number {
  return s * (1000 / frameMs(model));
}

/** FILE_CONTEXT_MS in feature frames: the context of a file's windows. */
export function fileContextFrames(model: Pick<FrameModel, "windowStride">): number {
  return framesInMs(FILE_CONTEXT_MS, model);
}

/** The windows of live streams and uploads for these knobs and this model. */
export function frameGeometry(knobs: WindowKnobs, model: FrameModel): FrameGeometry {
  const subsampling = model.subsamplingFactor;
  const stream: StepGeometry = {
    chunkFrames: framesInMs(knobs.stepMs, model),
    leftFrames: framesInMs(knobs.leftContextMs, model),
    rightFrames: framesInMs(knobs.rightContextMs, model),
    subsampling,
  };
  return {
    frameMs: frameMs(model),
    stream,
    upload: fileChunkGeometry(
      framesInSeconds(knobs.fileChunkS, model),
      stream.leftFrames,
      subsampling,
      fileContextFrames(model),
    ),
  };
}
