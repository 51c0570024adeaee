/** Messages between the reader and the WAV decode worker (decode_worker.ts). */
import type { AudioErrorCode } from "./audio_error.ts";
import type { DecodeLimits } from "./decode_limits.ts";

export interface WavDecodeRequest {
  /** The file's bytes, transferred (the worker hands them back when ffmpeg must take over). */
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
  file: string;
  limits: DecodeLimits;
}

export type WavDecodeReply =
  | {
    ok: true;
    /** 16 kHz mono float32, transferred. */
    samples: Float32Array;
    encoding: string;
    channels: number;
    sourceSampleRate: number;
    warnings: string[];
  }
  | {
    ok: false;
    code: AudioErrorCode | null;
    problem: string;
    message: string;
    /** The input handed back for a codec only ffmpeg decodes. */
    bytes?: Uint8Array;
  };
