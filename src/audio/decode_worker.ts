/**
 * Worker: parses and resamples one WAV file off the main isolate, so a long or expensive file
 * never stalls the event loop that serves live streams. One request, one reply; the samples'
 * buffer is transferred back, not copied.
 */
/// <reference lib="deno.worker" />
import { AudioFileError } from "./audio_error.ts";
import { readWav } from "./wav.ts";
import type { WavDecodeReply, WavDecodeRequest } from "./wav_worker_protocol.ts";

self.onmessage = (e: MessageEvent<WavDecodeRequest>) => {
  const { buffer, byteOffset, byteLength, file, limits } = e.data;
  const bytes = new Uint8Array(buffer, byteOffset, byteLength);
  let reply: WavDecodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const wav = readWav(bytes, file, 16000, limits);
    reply = {
      ok: true,
      samples: wav.samples,
      encoding: wav.encoding,
      channels: wav.channels,
      sourceSampleRate: wav.sourceSampleRate,
      warnings: wav.warnings,
    };
    transfer = [wav.samples.buffer as ArrayBuffer];
  } catch (err) {
    const known = err instanceof AudioFileError;
    reply = {
      ok: false,
      code: known ? err.code : null,
      problem: known ? err.problem : String(err),
      message: (err as Error).message ?? String(err),
    };
    if (known && err.code === "unsupported-codec") {
      reply.bytes = bytes;
      transfer = [buffer];
    }
  }
  self.postMessage(reply, transfer);
};
