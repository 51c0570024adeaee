import { launchServer } from "../../src/server/launch.ts";
import type { InferencePool } from "../../src/engine/inference_pool.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import type { BatchRunner } from "../../src/stream/batch_scheduler.ts";
import type { RunningServer } from "../../src/server/server.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";
import { openWebSocket, StreamSocket } from "../../src/client/stream_socket.ts";

export interface TestServer extends AsyncDisposable {
  url: string;
  http: string;
  port: number;
  /** The server's log lines so far (nothing is printed). */
  lines: string[];
  server: RunningServer;
  engine: InferencePool;
}

/** The real server (tiny model, CPU) on a free loopback port; knobs as environment values. */
export async function startTestServer(
  knobs: Record<string, string> = {},
  wrapRunner?: (engine: BatchRunner) => BatchRunner,
): Promise<TestServer> {
  const config = loadServerConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    MODEL: TINY_MODEL,
    DEVICE: "cpu",
    MAX_MESSAGES_PER_S: "1000000",
    // Every test client has the same address; tests of the per-client cap set it themselves.
    MAX_STREAMS_PER_CLIENT: "100000",
    // A fixed cap: a capacity measured on a busy test machine would refuse streams at random.
    // Tests of MAX_STREAMS=auto set it themselves.
    MAX_STREAMS: "128",
    ...knobs,
  });
  const lines: string[] = [];
  const { server, engine } = await launchServer(config, { log: (l) => lines.push(l), wrapRunner });
  return {
    url: `ws://127.0.0.1:${server.port}/ws`,
    http: `http://127.0.0.1:${server.port}`,
    port: server.port,
    lines,
    server,
    engine,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await engine.close();
    },
  };
}

export interface StreamOutcome {
  partials: string[];
  finals: string[];
  errors: { code: string; message: string }[];
  closeCode: number | null;
  /** Partials that arrived before the EOS was sent. */
  partialsBeforeEos: number;
}

export interface StreamOptions {
  /** Bytes per frame (default 640 = 20 ms). */
  frameBytes?: number;
  /** Real-time factor of sending: 1 = real time; 0 = as fast as possible. */
  rtf?: number;
  /** Send the EOS control frame as "text" or "binary" (default binary), or not at all. */
  eos?: "text" | "binary" | "none";
  /** Close from our side after the final (default true). */
  closeAfter?: boolean;
}

/** Streams PCM16 bytes to the server and collects what comes back until the final (or close). */
export async function streamAudio(
  url: string,
  pcm: Uint8Array,
  opts: StreamOptions = {},
): Promise<StreamOutcome> {
  const socket = await StreamSocket.open(url).catch(() => {
    throw new Error(`cannot connect to ${url}`);
  });
  await socket.sendPcm(pcm, { frameBytes: opts.frameBytes ?? 640, rtf: opts.rtf ?? 0 });
  const partialsBeforeEos = socket.partials.length;
  if (opts.eos !== "none" && socket.isOpen) {
    socket.sendEos(opts.eos ?? "binary");
    await socket.waitFor(() => socket.finals.length > 0, Infinity);
  }
  if (opts.closeAfter !== false && socket.isOpen) socket.ws.close(1000);
  const closed = await socket.closed;
  return {
    partials: socket.partials,
    finals: socket.finals,
    errors: socket.errors,
    closeCode: closed.code,
    partialsBeforeEos,
  };
}

/** Opens a WebSocket and resolves with it once open (rejects on a refused upgrade). */
export function connect(url: string): Promise<WebSocket> {
  return openWebSocket(url).catch(() => {
    throw new Error(`cannot connect to ${url}`);
  });
}

/** Collects messages and the close event of an open socket. */
export function record(ws: WebSocket) {
  const messages: { type: string; text?: string; code?: string; message?: string }[] = [];
  const closed = new Promise<number>((resolve) => {
    ws.onclose = (e) => resolve(e.code);
  });
  ws.onmessage = (e) => messages.push(JSON.parse(e.data as string));
  return { messages, closed };
}
