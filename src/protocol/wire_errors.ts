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
  /**
   * No audio for the inactivity limit (keepalive messages do not count: a stream slot is for
   * audio); pending speech gets its final first.
   */
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

/**
 * Close codes a client may also choose (RFC 6455 standard ones: normal, going away, no status,
 * abnormal) and those the WebSocket layer closes with itself (1002 protocol error, 1007 invalid
 * UTF-8), besides those our errors use. Metrics report these by number; any other code a client
 * sends is counted as "other", so clients cannot grow the number of series.
 */
const STANDARD_CLOSE_CODES = [1000, 1001, 1002, 1005, 1006, 1007] as const;

export const CLOSE_CODE_LABELS: readonly string[] = [
  ...new Set<number>([
    ...STANDARD_CLOSE_CODES,
    ...Object.values(WIRE_ERRORS).flatMap((e) => e.close === null ? [] : [e.close]),
  ]),
].sort((a, b) => a - b).map(String);

export const OTHER_CLOSE_CODE = "other";

/** The metric label for a close code: its number when listed above, else "other". */
export function closeCodeLabel(code: number): string {
  const label = String(code);
  return CLOSE_CODE_LABELS.includes(label) ? label : OTHER_CLOSE_CODE;
}
