import { authHeaders } from "./auth_header.ts";
import { partialLatencyMs, SendLog, type StepKnobs, type WordTime } from "./coverage.ts";
import { bytesToMs } from "./pcm.ts";
import { CONNECT_TIMEOUT_MS, StreamSocket } from "./stream_socket.ts";
/** After our close frame, how long to wait for the server's before counting the close lost. */
const CLOSE_TIMEOUT_MS = 3_000;

export interface StreamRunOptions {
  url: string;
  /** The server's token, sent as `Authorization: Bearer` on the handshake. */
  token?: string;
  /** PCM16 LE mono 16 kHz; played once per utterance. */
  clip: Uint8Array;
  /** Total audio to send; more than the clip repeats it, one utterance (and EOS) per pass. */
  totalBytes: number;
  frameBytes: number;
  /** 1 = real time, 10 = ten times faster, 0 = unpaced. */
  rtf: number;
  knobs: StepKnobs;
  /** How long to wait for the outstanding finals after the last EOS. */
  finalTimeoutMs: number;
  /** Aborting cuts the current utterance short (EOS now) and drains the finals. */
  signal?: AbortSignal;
  onPartial?: (p: PartialRecord) => void;
  onFinal?: (f: FinalRecord) => void;
  onError?: (e: ServerError) => void;
}

export interface PartialRecord {
  utterance: number;
  text: string;
  /** performance.now() at arrival. */
  at: number;
  /** Since the first audio frame was sent. */
  sinceStartMs: number;
  latencyMs: number;
  /** Audio (ms from the utterance's start) the partial is taken to cover; see coverage.ts. */
  coveredMs: number;
  /** "words" when located from the partial's word times, else "sent" (a lower bound). */
  basis: "words" | "sent";
}

export interface FinalRecord {
  utterance: number;
  text: string;
  at: number;
  eosToFinalMs: number;
  audioMs: number;
}

export interface ServerError {
  code: string;
  message: string;
  at: number;
}

export interface StreamResult {
  /** Null when connected; else why not (refused, unreachable, timed out). */
  connectError: string | null;
  openedAt: number | null;
  /** When the first audio frame went out. */
  firstSendAt: number | null;
  partials: PartialRecord[];
  finals: FinalRecord[];
  errors: ServerError[];
  /** Utterances ended with EOS; each should get one final. */
  utterancesSent: number;
  bytesSent: number;
  closeCode: number | null;
  closeReason: string;
  /** The server closed first, or the close did not complete, or finals are missing. */
  abnormal: boolean;
  endedAt: number;
  /** How far behind its schedule our own sending fell at worst (a loaded client machine). */
  maxSendSlipMs: number;
}

/**
 * One WebSocket stream: sends the clip paced at `rtf`, an EOS after each pass, collects partials
 * (with their latency) and finals (with EOS → final latency), and closes with 1000 when every
 * final is in. Never throws: every failure is in the result.
 */
export async function runStream(opts: StreamRunOptions): Promise<StreamResult> {
  const result: StreamResult = {
    connectError: null,
    openedAt: null,
    firstSendAt: null,
    partials: [],
    finals: [],
    errors: [],
    utterancesSent: 0,
    bytesSent: 0,
    closeCode: null,
    closeReason: "",
    abnormal: false,
    endedAt: 0,
    maxSendSlipMs: 0,
  };
  if (opts.clip.length === 0) throw new Error("cannot stream an empty clip (0 bytes of audio)");
  let socket: StreamSocket;
  try {
    socket = await StreamSocket.open(opts.url, {
      timeoutMs: CONNECT_TIMEOUT_MS,
      headers: authHeaders(opts.token),
    });
  } catch (err) {
    result.connectError = (err as Error).message;
    result.endedAt = performance.now();
    return result;
  }
  // The first utterance's log exists before any message is read: a message that arrived with the
  // upgrade is handed to the listener as soon as it is added.
  const logs: SendLog[] = [new SendLog()];
  const eosAt: number[] = [];
  let weClosed = false;

  socket.onMessage(({ message: m, text, at }) => {
    if (m === null) {
      result.errors.push({ code: "client_bad_json", message: `not JSON: ${text}`, at });
      return;
    }
    // Utterances are decoded in order, so a message belongs to the oldest one without a final.
    const u = result.finals.length;
    if (m.type === "partial" && logs[u]) {
      const text = String(m.text ?? "");
      const words = Array.isArray(m.words) ? (m.words as WordTime[]) : null;
      const lastEnd = words && words.length ? Number(words[words.length - 1].end) : null;
      const { latencyMs, coveredMs } = partialLatencyMs(opts.knobs, logs[u], at, lastEnd);
      const p: PartialRecord = {
        utterance: u,
        text,
        at,
        sinceStartMs: at - (result.firstSendAt ?? at),
        latencyMs,
        coveredMs,
        basis: lastEnd === null ? "sent" : "words",
      };
      result.partials.push(p);
      opts.onPartial?.(p);
    } else if (m.type === "final") {
      const f: FinalRecord = {
        utterance: u,
        text: String(m.text ?? ""),
        at,
        eosToFinalMs: eosAt[u] !== undefined ? at - eosAt[u] : NaN,
        audioMs: logs[u] ? bytesToMs(logs[u].bytes) : 0,
      };
      result.finals.push(f);
      opts.onFinal?.(f);
    } else if (m.type === "error") {
      const err = { code: String(m.code), message: String(m.message ?? ""), at };
      result.errors.push(err);
      opts.onError?.(err);
    }
  });
  const closed = socket.closed.then((c) => {
    result.closeCode = c.code;
    result.closeReason = c.reason;
    if (!weClosed) result.abnormal = true;
  });
  result.openedAt = socket.openedAt;

  const start = performance.now();
  const { clip, totalBytes } = opts;
  while (result.bytesSent < totalBytes && socket.isOpen && !opts.signal?.aborted) {
    let log = logs[result.utterancesSent];
    if (!log) logs.push(log = new SendLog());
    const pass = clip.subarray(0, Math.min(clip.length, totalBytes - result.bytesSent));
    const sent = await socket.sendPcm(pass, {
      frameBytes: opts.frameBytes,
      rtf: opts.rtf,
      signal: opts.signal,
      startMs: start,
      offsetBytes: result.bytesSent,
      onFrame: (pos, at) => {
        result.firstSendAt ??= at;
        log.add(pos, at);
      },
    });
    result.maxSendSlipMs = Math.max(result.maxSendSlipMs, sent.maxSlipMs);
    result.bytesSent += sent.bytesSent;
    if (log.bytes === 0) logs.pop(); // nothing of this utterance went out
    if (log.bytes > 0 && socket.isOpen) {
      socket.sendEos();
      eosAt.push(performance.now());
      result.utterancesSent++;
    }
  }
  if (socket.isOpen && result.finals.length < result.utterancesSent) {
    await socket.waitFor(() => result.finals.length >= result.utterancesSent, opts.finalTimeoutMs);
  }
  if (socket.isOpen) {
    weClosed = true;
    if (await socket.close(1000, undefined, CLOSE_TIMEOUT_MS) === null) result.abnormal = true;
  } else {
    await closed;
  }
  if (result.finals.length < result.utterancesSent) result.abnormal = true;
  result.endedAt = performance.now();
  return result;
}
