import type { BatchScheduler } from "../stream/batch_scheduler.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import { DEFAULT_FRAMING_LIMITS } from "../wyoming/event_framing.ts";
import type { WyomingListenerOptions } from "../wyoming/wyoming_listener.ts";
import { ClientSlots } from "./client_slots.ts";
import type { ServerConfig } from "./config.ts";

export interface WyomingWiring {
  config: ServerConfig;
  /** The live streams' context: Wyoming audio is decoded exactly as /ws audio is. */
  context: StreamContext;
  scheduler: BatchScheduler;
  /** The served model's directory: its last component names the model in `info`. */
  modelDir: string;
  version: string;
  /** A stream id unique among the server's sessions. */
  nextId: () => number;
  log: (line: string) => void;
}

/**
 * The Wyoming listener's options from the server's knobs, or null when WYOMING_PORT is unset
 * (the listener is off). Its sessions join the same batch scheduler as /ws streams.
 */
export function wyomingListenerOptions(w: WyomingWiring): WyomingListenerOptions | null {
  const { config, scheduler } = w;
  if (config.wyomingPort === null) return null;
  return {
    hostname: config.wyomingHost ?? config.host,
    port: config.wyomingPort,
    maxConnections: config.wyomingMaxConnections,
    perAddress: new ClientSlots(config.wyomingMaxConnectionsPerClient),
    // An audio chunk is capped like a /ws binary message.
    framing: { ...DEFAULT_FRAMING_LIMITS, maxPayloadBytes: config.maxFrameBytes },
    connection: {
      idleTimeoutMs: config.idleTimeoutS * 1000,
      utteranceMaxS: config.sessionMaxS,
      connectionMaxMs: config.sessionMaxS * 1000,
      sampleRate: w.context.extractor.config.sampleRate,
    },
    maxUnsentBytes: config.slowConsumerBytes,
    model: {
      name: w.modelDir.replace(/[/\\]+$/, "").split(/[/\\]/).pop() || w.modelDir,
      languages: config.wyomingLanguages.split(",").map((l) => l.trim()).filter((l) => l),
      version: w.version,
    },
    sessions: {
      open: (send) => {
        const s = new StreamSession(w.nextId(), w.context, send);
        s.onWarning = w.log;
        scheduler.add(s);
        return s;
      },
      close: (s) => {
        s.close();
        scheduler.remove(s);
      },
      wake: () => scheduler.wake(),
    },
    log: w.log,
  };
}
