import { encodeEvent, type FramingLimits, WyomingEventReader } from "./event_framing.ts";
import type { ServedModel } from "./service_info.ts";
import { SocketSink } from "./socket_sink.ts";
import {
  type SessionHost,
  WyomingConnection,
  type WyomingConnectionLimits,
} from "./wyoming_connection.ts";

export interface WyomingListenerOptions {
  hostname: string;
  /** 0: any free port. */
  port: number;
  /** Open Wyoming connections; more are told `error` (code "capacity") and closed. */
  maxConnections: number;
  /**
   * Open connections per peer address (the protocol has no token, so the address is all there
   * is to tell peers apart): one address cannot take every connection. Over it, `error` (code
   * "capacity") and closed.
   */
  perAddress: {
    readonly maxPerClient: number;
    tryAcquire(a: string): boolean;
    release(a: string): void;
  };
  framing: FramingLimits;
  connection: WyomingConnectionLimits;
  /** Unsent bytes past which a peer that does not read is dropped. */
  maxUnsentBytes: number;
  model: ServedModel;
  sessions: SessionHost;
  log: (line: string) => void;
}

export interface WyomingListener {
  hostname: string;
  port: number;
  /** Connections open now. */
  readonly openConnections: number;
  /**
   * Stops accepting; open utterances get their transcripts, then every connection is closed,
   * by `deadline` (a Date.now() time) at the latest.
   */
  shutdown(deadline: number): Promise<void>;
}

/** Read buffer per connection: the reader copies what it keeps. */
const READ_BUFFER_BYTES = 65_536;
/** After our last event, how long a peer gets to close its side. */
const LINGER_MS = 1000;
/** Pause after a failed accept (e.g. out of file descriptors) before the next. */
const ACCEPT_RETRY_MS = 100;

/**
 * The Wyoming protocol's TCP listener: each connection is read through the framing reader
 * into a WyomingConnection; its writes go through a SocketSink. Nothing is allocated for a
 * connection over the cap beyond the error event that tells it so.
 */
export function startWyomingListener(opts: WyomingListenerOptions): WyomingListener {
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  opts.log(`listening for Wyoming on tcp://${addr.hostname}:${addr.port}`);
  const open = new Set<WyomingConnection>();
  const running = new Set<Promise<void>>();
  let draining = false;
  /** Refused connections still lingering: a flood of them is closed at once instead. */
  let refusing = 0;

  const serve = async (tcp: Deno.Conn): Promise<void> => {
    const sink = new SocketSink(
      tcp,
      { maxUnsentBytes: opts.maxUnsentBytes, lingerMs: LINGER_MS },
      () => conn.release(),
    );
    const address = (tcp.remoteAddr as Deno.NetAddr).hostname;
    const full = open.size >= opts.maxConnections;
    const admitted = !draining && !full && opts.perAddress.tryAcquire(address);
    if (!admitted) {
      if (refusing >= opts.maxConnections) {
        sink.destroy();
        return;
      }
      const text = draining
        ? "The server is shutting down"
        : full
        ? `The server holds ${opts.maxConnections} Wyoming connections already; retry later`
        : `This address holds ${opts.perAddress.maxPerClient} Wyoming connections already; close one first`;
      refusing++;
      try {
        sink.write(encodeEvent("error", { text, code: draining ? "shutting_down" : "capacity" }));
        sink.close();
        await drainUntilGone(tcp, sink);
      } finally {
        refusing--;
      }
      return;
    }
    const conn: WyomingConnection = new WyomingConnection(
      sink,
      opts.sessions,
      opts.model,
      opts.connection,
      (c) => {
        open.delete(c);
        opts.perAddress.release(address);
      },
    );
    open.add(conn);
    const reader = new WyomingEventReader(opts.framing);
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    try {
      while (!conn.released) {
        const n = await tcp.read(buffer);
        if (n === null) break;
        for (const r of reader.push(buffer.subarray(0, n))) {
          if (r.ok) conn.receive(r.event);
          else conn.framingFailed(r.error);
          if (conn.released) break;
        }
      }
    } catch {
      // Reset or closed under us: released below.
    }
    if (!conn.released) {
      // The peer closed its side: nothing more will come, and a transcript could not be read.
      conn.release();
      sink.destroy();
    }
    await drainUntilGone(tcp, sink);
  };

  const accepting = (async () => {
    while (!draining) {
      let tcp: Deno.Conn;
      try {
        tcp = await listener.accept();
      } catch (err) {
        if (draining || err instanceof Deno.errors.BadResource) return;
        // Out of file descriptors or a connection reset before accept: the listener stays.
        opts.log(`wyoming: accept failed: ${(err as Error)?.message ?? err}`);
        await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      const p = serve(tcp).catch((err) =>
        opts.log(`wyoming connection failed: ${(err as Error)?.message ?? err}`)
      );
      running.add(p);
      void p.finally(() => running.delete(p));
    }
  })();

  return {
    hostname: addr.hostname,
    port: addr.port,
    get openConnections() {
      return open.size;
    },
    async shutdown(deadline) {
      if (!draining) {
        draining = true;
        try {
          listener.close();
        } catch {
          // Already closed.
        }
      }
      for (const c of [...open]) {
        c.endAfterTranscript(
          "shutting_down",
          "Closing: the server is shutting down; the transcript above is complete",
        );
      }
      while (open.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const c of [...open]) c.fail("shutting_down", "Closing: the server is shutting down");
      await accepting;
      await Promise.all(running);
    },
  };
}

/**
 * After our side is done, reads (and drops) what the peer still sends until it closes or the
 * sink's linger ends, so our last event is not lost to a reset.
 */
async function drainUntilGone(tcp: Deno.Conn, sink: SocketSink): Promise<void> {
  const scratch = new Uint8Array(READ_BUFFER_BYTES);
  const gone = sink.gone.then(() => null);
  try {
    while (true) {
      // A read still pending when the socket closes fails: that is the end too.
      const read = tcp.read(scratch).catch(() => null);
      const n = await Promise.race([read, gone]);
      if (n === null) break;
    }
  } catch {
    // Closed by the linger: done.
  }
  sink.destroy();
}
