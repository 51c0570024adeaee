/**
 * Every error a client can be told, in one place: the `code` string of the error message, the
 * WebSocket close code that follows it (none when the connection is kept), and why.
 */
export const WIRE_ERRORS = {
  /** A binary or text message over its size limit; checked before any copy or decode. */
  message_too_large: { close: 1009 },
  /** A text frame that is neither a control frame nor a known JSON message; the stream goes on. */
  invalid_message: { close: null },
  /**
   * The stream's first audio frame is compressed or containerised audio (Ogg/Opus, WebM, MP3,
   * FLAC, MP4, a WAV of another format…), not the raw PCM the stream takes (1003: unsupported data).
   */
  unsupported_audio: { close: 1003 },
  /** Audio arrived so far ahead of the decoder that the backlog limit was passed. */
  rate_exceeded: { close: 1008 },
  /** Too many messages per second (empty or tiny frames included). */
  message_rate_exceeded: { close: 1008 },
  /** No audio (nor keepalive) for the inactivity limit. */
  idle_timeout: { close: 1008 },
  /** The session reached its maximum length; the final was flushed first. */
  session_timeout: { close: 1008 },
  /** The client stopped reading: its outbound buffer stayed over the high-water mark. */
  slow_consumer: { close: 1008 },
  /** The model failed for this stream's batch; only the streams of that batch end. */
  internal_error: { close: 1011 },
  /** Admitted, but the server found itself saturated later. */
  server_overloaded: { close: 1013 },
  /** The server is stopping; finals were flushed first. */
  shutting_down: { close: 1001 },
} as const satisfies Record<string, { close: number | null }>;

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export function closeCodeFor(code: WireErrorCode): number | null {
  return WIRE_ERRORS[code].close;
}
