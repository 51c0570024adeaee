/**
 * OpenAI Realtime transcription mapped onto one stream session: client events (session.update,
 * input_audio_buffer.append / commit / clear) in, server events (committed, speech_started /
 * stopped, transcription deltas, completed, failed, errors) out. It stays one class, over 350
 * lines, because every event reads and sets the same turn state (the open buffer, the committed
 * items waiting for their finals, the turn detection in force): split, each part would need all
 * of it.
 */
import type { WordTiming } from "../decode/words.ts";
import type { ServerMessage } from "../protocol/protocol.ts";
import { InputAudio } from "./input_audio.ts";
import {
  type AudioFormat,
  type ClientEvent,
  DEFAULT_SILENCE_MS,
  errorEvent,
  EventIds,
  type RealtimeError,
  type ServerEvent,
  type ServerVad,
  type SessionUpdate,
} from "./realtime_events.ts";
import { TranscriptDeltas } from "./transcript_deltas.ts";

/**
 * What a realtime session drives: a stream session (src/stream/stream_session.ts) seen from
 * here. Its messages come back through `RealtimeSession.streamMessage`.
 */
export interface TranscriptionStream {
  /** Samples at the model's rate; `end` closes the utterance (its final follows). */
  pushSamples(samples: Float32Array, end: boolean): void;
  /** Drops the utterance still receiving audio, if any. */
  discardOpen(): void;
  /** Endpointing pause; 0: off. Read when each decoded step is taken in. */
  endpointMs: number;
  readonly backlogFrames: number;
}

export interface RealtimeSessionOptions {
  send(event: ServerEvent): void;
  /** The model name sessions report (`audio.input.transcription.model`). */
  model: string;
  /** Turn detection before any `session.update` (null: the client commits). */
  turnDetection?: ServerVad | null;
  /** Feature frames that may wait for the decoder before audio is refused. */
  maxBacklogFrames: number;
  secondsPerFrame: number;
  ids?: EventIds;
}

/** Less than this in the buffer cannot be committed (as OpenAI's API answers). */
export const MIN_COMMIT_MS = 100;

/** A session-ending problem: sent as an `error` event, then the connection closes. */
export interface FatalError {
  error: RealtimeError;
}

/**
 * One input audio buffer as the stream session sees it: an utterance. Utterances are decoded
 * and finalised in order, so the oldest one here is the one the stream's messages are about.
 */
interface Turn {
  /** Turn detection when the buffer opened; fixed for its life. */
  vad: boolean;
  /** Its endpointing pause (server VAD's silence_duration_ms), 0 without. */
  silenceMs: number;
  /** Input milliseconds of the session before this buffer, for VAD event times. */
  startMs: number;
  /** Input milliseconds in this buffer. */
  ms: number;
  /** Manual mode: set by the commit. */
  itemId: string | null;
  deltas: TranscriptDeltas;
  /** The latest stable text before the commit (its delta goes out at the commit). */
  stable: { text: string; offset: number } | null;
  /** VAD mode: the item of the speech in progress (after `speech_started`). */
  speechItem: string | null;
}

/**
 * OpenAI Realtime transcription over a stream session. Appended audio is decoded to the model's
 * rate and fed as it arrives. Without turn detection each commit ends an utterance: it is
 * answered `input_audio_buffer.committed` at once, then transcription deltas (the stable text as
 * it grows) and `…completed` when its final is decoded. With `server_vad` the stream's
 * endpointing closes turns: the first words of a turn send `speech_started`; its `segment`
 * sends `speech_stopped`, `committed`, the transcript as one delta and `completed`; a commit
 * flushes the turn in progress. A change of turn detection applies from the next buffer.
 */
export class RealtimeSession {
  readonly ids: EventIds;
  readonly id: string;
  readonly #opts: RealtimeSessionOptions;
  readonly #stream: TranscriptionStream;
  #format: AudioFormat = { type: "audio/pcm", rate: 24000 };
  #input = new InputAudio(this.#format);
  #turnDetection: ServerVad | null;
  #transcription: { model: string; language: string | null; prompt: string };
  /** Oldest first; the last one is open (receiving audio) unless it was committed. */
  #turns: Turn[] = [];
  #open: Turn | null = null;
  #inputMs = 0;
  #lastItem: string | null = null;

  constructor(stream: TranscriptionStream, opts: RealtimeSessionOptions) {
    this.#stream = stream;
    this.#opts = opts;
    this.ids = opts.ids ?? new EventIds();
    this.id = this.ids.next("sess");
    this.#turnDetection = opts.turnDetection === undefined ? defaultVad() : opts.turnDetection;
    this.#transcription = { model: opts.model, language: null, prompt: "" };
    this.#syncEndpoint();
  }

  /** `session.created`, the first event of a connection. */
  start(): void {
    this.#emit("session.created", { session: this.sessionObject() });
  }

  /** The effective configuration, as `session.created` / `session.updated` carry it. */
  sessionObject(): Record<string, unknown> {
    return {
      type: "transcription",
      id: this.id,
      object: "realtime.transcription_session",
      audio: {
        input: {
          format: this.#format,
          transcription: this.#transcription,
          noise_reduction: null,
          turn_detection: this.#turnDetection,
        },
      },
      include: [],
    };
  }

  /** Applies one client event; a fatal problem ends the session. */
  receive(event: ClientEvent): FatalError | null {
    switch (event.type) {
      case "session.update":
        return this.#update(event.session, event.event_id);
      case "input_audio_buffer.append":
        return this.#append(event.audio);
      case "input_audio_buffer.commit":
        this.#commit(event.event_id);
        return null;
      case "input_audio_buffer.clear":
        this.#clear();
        return null;
    }
  }

  /** An error event for a client event that could not be parsed. */
  refuse(error: RealtimeError): void {
    this.#opts.send(errorEvent(this.ids, error));
  }

  #update(update: SessionUpdate, eventId?: string): FatalError | null {
    if (update.format && !sameFormat(update.format, this.#format)) {
      if (this.#open && this.#open.ms > 0) {
        this.refuse({
          type: "invalid_request_error",
          code: "invalid_value",
          message:
            "Cannot change the audio format while the input audio buffer holds audio: commit or clear it first",
          param: "session.audio.input.format",
          event_id: eventId ?? null,
        });
        return null;
      }
      this.#format = update.format;
      this.#input = new InputAudio(update.format);
    }
    if (update.turnDetection !== undefined) {
      this.#turnDetection = update.turnDetection;
      this.#syncEndpoint();
    }
    if (update.transcription) {
      // One model serves every session: a model the client names is not reported as served.
      const { model: _named, ...rest } = update.transcription;
      this.#transcription = { ...this.#transcription, ...rest };
    }
    this.#emit("session.updated", { session: this.sessionObject() });
    return null;
  }

  /**
   * The stream's endpointing is the oldest pending turn's, the one being decoded (a server-VAD
   * turn's segments are its items), else the configuration the next buffer will open with. A
   * manual turn is decoded without it even when a server-VAD buffer waits behind it: each
   * segment restarts the partials its deltas are read from, and they would no longer add up to
   * its transcript.
   */
  #syncEndpoint(): void {
    const oldest = this.#turns[0];
    this.#stream.endpointMs = oldest
      ? oldest.silenceMs
      : this.#turnDetection?.silence_duration_ms ?? 0;
  }

  #append(bytes: Uint8Array): FatalError | null {
    if (bytes.length === 0) return null;
    const turn = this.#open ?? this.#openTurn();
    const before = this.#input.bufferedMs;
    const samples = this.#input.push(bytes);
    const added = this.#input.bufferedMs - before;
    turn.ms += added;
    this.#inputMs += added;
    if (samples.length > 0) this.#stream.pushSamples(samples, false);
    const backlog = this.#stream.backlogFrames;
    if (backlog > this.#opts.maxBacklogFrames) {
      const s = (f: number) => (f * this.#opts.secondsPerFrame).toFixed(1);
      return {
        error: {
          type: "invalid_request_error",
          code: "rate_exceeded",
          message: `Cannot accept more audio: ${
            s(backlog)
          } s are waiting to be decoded, over the limit of ${
            s(this.#opts.maxBacklogFrames)
          } s (send audio closer to real time)`,
          param: null,
          event_id: null,
        },
      };
    }
    return null;
  }

  #openTurn(): Turn {
    // The buffer opens with the turn detection now in force.
    const turn: Turn = {
      vad: this.#turnDetection !== null,
      silenceMs: this.#turnDetection?.silence_duration_ms ?? 0,
      startMs: this.#inputMs,
      ms: 0,
      itemId: null,
      deltas: new TranscriptDeltas(),
      stable: null,
      speechItem: null,
    };
    this.#turns.push(turn);
    this.#open = turn;
    this.#syncEndpoint();
    return turn;
  }

  #commit(eventId?: string): void {
    const turn = this.#open;
    const ms = turn?.ms ?? 0;
    if (turn === null || ms < MIN_COMMIT_MS) {
      this.refuse({
        type: "invalid_request_error",
        code: "input_audio_buffer_commit_empty",
        message:
          `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${
            ms.toFixed(2)
          }ms of audio.`,
        param: null,
        event_id: eventId ?? null,
      });
      return;
    }
    this.#open = null;
    if (!turn.vad) {
      turn.itemId = this.ids.next("item");
      this.#emit("input_audio_buffer.committed", {
        previous_item_id: this.#lastItem,
        item_id: turn.itemId,
      });
      this.#lastItem = turn.itemId;
      if (turn.stable) this.#delta(turn, turn.deltas.advance(turn.stable.text, turn.stable.offset));
    }
    this.#stream.pushSamples(this.#input.flush(), true);
    this.#syncEndpoint();
  }

  #clear(): void {
    this.#dropOpen();
    this.#input.reset();
    this.#emit("input_audio_buffer.cleared", {});
  }

  /**
   * Before the session ends (inactivity, its length cap, a shutdown): the turn in progress under
   * server VAD is flushed, as a commit would, so speech already heard is transcribed; audio of a
   * manual buffer never committed is dropped. Committed items stay pending until transcribed.
   */
  finishBuffered(): void {
    const open = this.#open;
    if (open === null) return;
    if (open.vad && open.ms > 0) {
      this.#open = null;
      this.#stream.pushSamples(this.#input.flush(), true);
      this.#syncEndpoint();
    } else {
      this.#dropOpen();
      this.#input.reset();
    }
  }

  /** Drops the open buffer's utterance and its turn. */
  #dropOpen(): void {
    const open = this.#open;
    if (open === null) return;
    this.#stream.discardOpen();
    this.#turns.splice(this.#turns.indexOf(open), 1);
    this.#open = null;
    this.#syncEndpoint();
  }

  /** A message of the stream session, about the oldest turn. */
  streamMessage(m: ServerMessage): void {
    const turn = this.#turns[0];
    if (!turn) return;
    switch (m.type) {
      case "partial": {
        const stable = m.stable ?? m.text;
        const offset = m.text_offset ?? 0;
        if (turn.vad) {
          if (turn.speechItem === null && m.text.trim() !== "") {
            this.#speechStarted(turn, m.words);
          }
        } else if (turn.itemId === null) {
          turn.stable = { text: stable, offset };
        } else {
          this.#delta(turn, turn.deltas.advance(stable, offset));
        }
        return;
      }
      case "segment": {
        if (!turn.vad) return;
        if (turn.speechItem === null) this.#speechStarted(turn, m.words);
        const itemId = turn.speechItem!;
        turn.speechItem = null;
        this.#emit("input_audio_buffer.speech_stopped", {
          audio_end_ms: Math.round(turn.startMs + m.end * 1000),
          item_id: itemId,
        });
        this.#emit("input_audio_buffer.committed", {
          previous_item_id: this.#lastItem,
          item_id: itemId,
        });
        this.#lastItem = itemId;
        this.#emit("conversation.item.input_audio_transcription.delta", {
          item_id: itemId,
          content_index: 0,
          delta: m.text,
        });
        this.#completed(itemId, m.text, m.end - m.start);
        return;
      }
      case "final": {
        this.#turns.shift();
        if (turn === this.#open) this.#open = null;
        this.#syncEndpoint();
        if (turn.vad || turn.itemId === null) return;
        this.#delta(turn, turn.deltas.finish(m.text));
        this.#completed(turn.itemId, m.text, turn.ms / 1000);
        return;
      }
      case "error":
        return;
    }
  }

  /**
   * Decoding failed: every committed item still waiting gets `…failed`, then the session ends
   * with `error`.
   */
  streamFailed(message: string): FatalError {
    const error: RealtimeError = {
      type: "server_error",
      code: "internal_error",
      message,
      param: null,
      event_id: null,
    };
    for (const turn of this.#turns) {
      const item = turn.itemId ?? turn.speechItem;
      if (item === null) continue;
      this.#emit("conversation.item.input_audio_transcription.failed", {
        item_id: item,
        content_index: 0,
        error: { type: error.type, code: error.code, message, param: null },
      });
    }
    this.#turns = [];
    this.#open = null;
    return { error };
  }

  #speechStarted(turn: Turn, words?: WordTiming[]): void {
    turn.speechItem = this.ids.next("item");
    this.#emit("input_audio_buffer.speech_started", {
      audio_start_ms: Math.round(turn.startMs + (words?.[0]?.start ?? 0) * 1000),
      item_id: turn.speechItem,
    });
  }

  #delta(turn: Turn, delta: string): void {
    if (delta === "" || turn.itemId === null) return;
    this.#emit("conversation.item.input_audio_transcription.delta", {
      item_id: turn.itemId,
      content_index: 0,
      delta,
    });
  }

  #completed(itemId: string, transcript: string, seconds: number): void {
    this.#emit("conversation.item.input_audio_transcription.completed", {
      item_id: itemId,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: Math.round(seconds * 1000) / 1000 },
    });
  }

  #emit(type: string, fields: Record<string, unknown>): void {
    this.#opts.send({ type, event_id: this.ids.next("event"), ...fields });
  }
}

function defaultVad(): ServerVad {
  return {
    type: "server_vad",
    silence_duration_ms: DEFAULT_SILENCE_MS,
    threshold: 0.5,
    prefix_padding_ms: 300,
  };
}

function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.type === b.type;
}
