/**
 * Runs decode_worker.ts for one WAV file: one worker per file (the server bounds files at once by
 * MAX_UPLOADS), terminated when the answer arrives or the signal aborts, so its memory (the
 * resampling filter included) goes with it.
 */
import { AudioFileError } from "./audio_error.ts";
import type { DecodeLimits } from "./decode_limits.ts";
import type { WavAudio } from "./wav.ts";
import type { WavDecodeReply, WavDecodeRequest } from "./wav_worker_protocol.ts";

export type WorkerWav = WavAudio & { sourceSampleRate: number };

/**
 * A codec only ffmpeg decodes: the worker's AudioFileError, with the file's bytes handed back
 * (the request transferred them away).
 */
export class NeedsFfmpeg extends Error {
  constructor(override readonly cause: AudioFileError, readonly bytes: Uint8Array) {
    super(cause.message);
  }
}

/**
 * Decodes and resamples to 16 kHz in a worker. The bytes' whole buffer is transferred: the caller
 * must not use it afterwards (a NeedsFfmpeg rejection carries the bytes back).
 */
export function decodeWavInWorker(
  bytes: Uint8Array,
  file: string,
  limits: DecodeLimits,
  signal?: AbortSignal,
): Promise<WorkerWav> {
  signal?.throwIfAborted();
  // The whole buffer is transferred (no copy of a view's bytes); a shared one cannot be.
  const own = bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
  const worker = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
  const { promise, resolve, reject } = Promise.withResolvers<WorkerWav>();
  const onAbort = () => {
    done();
    reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  // The same wall-clock limit as ffmpeg's: a decode that runs past it is ended, not waited for.
  const timer = setTimeout(() => {
    done();
    reject(
      new AudioFileError(
        file,
        "decode-timeout",
        `decoding this WAV file took more than ${
          limits.timeoutMs / 1000
        } s (UPLOAD_DECODE_TIMEOUT_S)`,
        "a file that decodes within the limit",
      ),
    );
  }, limits.timeoutMs);
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    worker.terminate();
  };
  worker.onmessage = (e: MessageEvent<WavDecodeReply>) => {
    done();
    const r = e.data;
    if (r.ok) {
      resolve({
        samples: r.samples,
        sampleRate: 16000,
        channels: r.channels,
        encoding: r.encoding,
        sourceSampleRate: r.sourceSampleRate,
        warnings: r.warnings,
      });
      return;
    }
    if (r.code === null) {
      reject(new Error(`WAV decoder failed: ${r.message}`));
      return;
    }
    const err = new AudioFileError(file, r.code, r.problem);
    err.message = r.message;
    reject(r.bytes ? new NeedsFfmpeg(err, r.bytes) : err);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    done();
    reject(new Error(`WAV decoder failed: ${e.message}`));
  };
  const request: WavDecodeRequest = {
    buffer: own.buffer as ArrayBuffer,
    byteOffset: own.byteOffset,
    byteLength: own.byteLength,
    file,
    limits,
  };
  worker.postMessage(request, [own.buffer as ArrayBuffer]);
  return promise;
}
