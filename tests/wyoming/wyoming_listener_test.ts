/**
 * The Wyoming listener of a real server (tiny model), spoken to over raw TCP: hostile input,
 * caps, timeouts, shutdown and model failures, each ending with every resource let go (the
 * test sanitizers check that no socket or timer is left).
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { startTestServer, streamAudio, type TestServer } from "../server/harness.ts";
import {
  encodeEvent,
  type WyomingEvent,
  WyomingEventReader,
} from "../../src/wyoming/event_framing.ts";

const enc = new TextEncoder();

/** A raw Wyoming peer: writes events, reads them back until the server closes. */
class Peer {
  readonly conn: Deno.Conn;
  readonly #reader = new WyomingEventReader({
    maxHeaderBytes: 1 << 20,
    maxDataBytes: 1 << 20,
    maxPayloadBytes: 1 << 20,
  });
  readonly #queue: WyomingEvent[] = [];
  #closed = false;
  #wake: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.done = this.#pump();
  }

  static async open(port: number): Promise<Peer> {
    return new Peer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        for (const r of this.#reader.push(buf.subarray(0, n))) {
          if (!r.ok) throw new Error(r.error.message);
          this.#queue.push(r.event);
        }
        this.#wake?.();
      }
    } catch {
      // Reset or closed by us.
    }
    this.#closed = true;
    this.#wake?.();
  }

  async send(type: string, data: Record<string, unknown> = {}, payload?: Uint8Array) {
    await this.write(encodeEvent(type, data, payload ?? null));
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  /** The next event, or null once the server has closed the connection. */
  async next(timeoutMs = 20_000): Promise<WyomingEvent | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0 && !this.#closed) {
      if (Date.now() > deadline) throw new Error("no event in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#queue.shift() ?? null;
  }

  /** Events up to and including the first of `type` (or the close). */
  async until(type: string): Promise<WyomingEvent[]> {
    const out: WyomingEvent[] = [];
    while (true) {
      const e = await this.next();
      if (e === null) return out;
      out.push(e);
      if (e.type === type) return out;
    }
  }

  /** Resolves once the server has closed (every later read sees the end). */
  async closedByServer(): Promise<void> {
    await this.done;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

async function transcribe(peer: Peer, pcm: Uint8Array): Promise<WyomingEvent[]> {
  await peer.send("transcribe", { language: "en" });
  await peer.send("audio-start", { rate: 16000, width: 2, channels: 1 });
  for (let at = 0; at < pcm.length; at += 4096) {
    await peer.send(
      "audio-chunk",
      { rate: 16000, width: 2, channels: 1 },
      pcm.subarray(at, at + 4096),
    );
  }
  await peer.send("audio-stop");
  return await peer.until("transcript-stop");
}

async function withServer(
  knobs: Record<string, string>,
  fn: (srv: TestServer, port: number) => Promise<void>,
) {
  await using srv = await startTestServer({ WYOMING_PORT: "0", ...knobs });
  await fn(srv, srv.server.wyoming!.port);
}

const CLIP = "seven_eight.wav";

Deno.test("wyoming: off unless WYOMING_PORT is set", async () => {
  await using srv = await startTestServer();
  assert.equal(srv.server.wyoming, null);
  assert.ok(!srv.lines.some((l) => l.includes("Wyoming")));
});

Deno.test("wyoming: a huge payload_length is refused before it is sent; a neighbour is served", async () => {
  await withServer({}, async (srv, port) => {
    const neighbour = await Peer.open(port);
    await neighbour.send("describe");
    assert.equal((await neighbour.next())?.type, "info");
    const hostile = await Peer.open(port);
    await hostile.write(enc.encode('{"type":"audio-chunk","payload_length":4000000000}\n'));
    const error = await hostile.next();
    assert.equal(error?.type, "error");
    assert.equal(error?.data.code, "payload_too_large");
    assert.match(String(error?.data.text), /4000000000/);
    await hostile.closedByServer();
    assert.equal(await hostile.next(), null);
    hostile.close();
    const events = await transcribe(neighbour, clipPcmBytes(CLIP));
    const ws = await streamAudio(srv.url, clipPcmBytes(CLIP));
    assert.equal(events.find((e) => e.type === "transcript")?.data.text, ws.finals[0]);
    neighbour.close();
  });
});

Deno.test("wyoming: a header line without end and bad JSON are told and closed", async () => {
  await withServer({}, async (_srv, port) => {
    const long = await Peer.open(port);
    await long.write(enc.encode('{"type":"describe","x":"' + "a".repeat(70_000)));
    const e1 = await long.next();
    assert.equal(e1?.data.code, "header_too_large");
    await long.closedByServer();
    long.close();
    const bad = await Peer.open(port);
    await bad.write(enc.encode("GET / HTTP/1.1\r\n\r\n"));
    const e2 = await bad.next();
    assert.equal(e2?.data.code, "bad_event");
    await bad.closedByServer();
    bad.close();
  });
});

Deno.test("wyoming: an absurd audio format is refused with unsupported_audio", async () => {
  await withServer({}, async (_srv, port) => {
    for (
      const format of [
        { rate: 1_000_000_000, width: 2, channels: 1 },
        { rate: 16000, width: 3, channels: 1 },
        { rate: 16000, width: 2, channels: 4096 },
      ]
    ) {
      const peer = await Peer.open(port);
      await peer.send("audio-start", format);
      const e = await peer.next();
      assert.equal(e?.type, "error");
      assert.equal(e?.data.code, "unsupported_audio");
      await peer.closedByServer();
      peer.close();
    }
    // A rate nested 12,000 deep (24 KB of data, under the cap): quoting it in the refusal
    // overflowed the stack, and the connection was dropped without a word.
    const deep = "[".repeat(12_000) + "]".repeat(12_000);
    const data = enc.encode(`{"rate":{"0":0,"nest":${deep}},"width":2,"channels":1}`);
    const peer = await Peer.open(port);
    await peer.write(enc.encode(`{"type":"audio-start","data_length":${data.length}}\n`));
    await peer.write(data);
    const e = await peer.next();
    assert.equal(e?.type, "error");
    assert.equal(e?.data.code, "unsupported_audio");
    assert.match(String(e?.data.text), /^Unsupported rate \{…\}: /);
    await peer.closedByServer();
    peer.close();
  });
});

/** Over a cap a second connection is told capacity (its text matching `told`); closing frees it. */
async function capOfOne(knobs: Record<string, string>, told: RegExp): Promise<void> {
  await withServer(knobs, async (_srv, port) => {
    const first = await Peer.open(port);
    await first.send("describe");
    assert.equal((await first.next())?.type, "info");
    const second = await Peer.open(port);
    const e = await second.next();
    assert.equal(e?.data.code, "capacity");
    assert.match(String(e?.data.text), told);
    await second.closedByServer();
    second.close();
    first.close();
    await first.done;
    // The server notices the close on its next read: retry until the slot is free.
    for (let i = 0;; i++) {
      const third = await Peer.open(port);
      await third.send("describe");
      const got = await third.next();
      third.close();
      await third.done;
      if (got?.type === "info") break;
      assert.ok(i < 50, "the slot was never freed");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
}

Deno.test("wyoming: over WYOMING_MAX_CONNECTIONS a connection is told capacity; a slot frees on close", async () => {
  await capOfOne({ WYOMING_MAX_CONNECTIONS: "1" }, /holds 1 Wyoming connections already/);
});

Deno.test("wyoming: over WYOMING_MAX_CONNECTIONS_PER_CLIENT one address is told capacity, though the server has room", async () => {
  await capOfOne(
    { WYOMING_MAX_CONNECTIONS: "16", WYOMING_MAX_CONNECTIONS_PER_CLIENT: "1" },
    /This address holds 1 Wyoming connections already/,
  );
});

Deno.test("wyoming: ping gets pong; unknown events are dropped; neither keeps the connection", async () => {
  await withServer({ IDLE_TIMEOUT_S: "1" }, async (_srv, port) => {
    const peer = await Peer.open(port);
    await peer.send("synthesize", { text: "hello" });
    await peer.send("ping", { text: "x" });
    const e = await peer.next();
    assert.equal(e?.type, "pong");
    assert.equal(e?.data.text, "x");
    const started = Date.now();
    const pinging = setInterval(() => peer.send("ping").catch(() => {}), 200);
    try {
      const events = await peer.until("error");
      assert.equal(events.at(-1)?.data.code, "idle_timeout");
      assert.ok(Date.now() - started < 2500);
    } finally {
      clearInterval(pinging);
    }
    await peer.closedByServer();
    peer.close();
  });
});

Deno.test("wyoming: idle connections close; speech already sent gets its transcript first", async () => {
  await withServer({ IDLE_TIMEOUT_S: "1" }, async (_srv, port) => {
    const quiet = await Peer.open(port);
    const e = await quiet.next();
    assert.equal(e?.data.code, "idle_timeout");
    await quiet.closedByServer();
    quiet.close();
    const talker = await Peer.open(port);
    await talker.send("audio-start", { rate: 16000, width: 2, channels: 1 });
    await talker.send("audio-chunk", { rate: 16000, width: 2, channels: 1 }, clipPcmBytes(CLIP));
    const events = await talker.until("error");
    const types = events.map((x) => x.type);
    assert.deepEqual(types.slice(-3), ["transcript", "transcript-stop", "error"]);
    assert.ok(String(events.find((x) => x.type === "transcript")?.data.text).length > 0);
    assert.equal(events.at(-1)?.data.code, "idle_timeout");
    await talker.closedByServer();
    talker.close();
  });
});

Deno.test("wyoming: an utterance over SESSION_MAX_S of audio gets its transcript, then session_timeout", async () => {
  await withServer({ SESSION_MAX_S: "1" }, async (_srv, port) => {
    const peer = await Peer.open(port);
    const pcm = clipPcmBytes(CLIP); // 2.3 s
    await peer.send("audio-start", { rate: 16000, width: 2, channels: 1 });
    for (let at = 0; at < pcm.length; at += 3200) {
      await peer.send(
        "audio-chunk",
        { rate: 16000, width: 2, channels: 1 },
        pcm.subarray(at, at + 3200),
      );
    }
    const events = await peer.until("error");
    assert.deepEqual(events.slice(-3).map((x) => x.type), [
      "transcript",
      "transcript-stop",
      "error",
    ]);
    assert.equal(events.at(-1)?.data.code, "session_timeout");
    await peer.closedByServer();
    peer.close();
  });
});

Deno.test("wyoming: shutdown flushes an open utterance's transcript, then closes and stops accepting", async () => {
  await using srv = await startTestServer({ WYOMING_PORT: "0" });
  const port = srv.server.wyoming!.port;
  const peer = await Peer.open(port);
  await peer.send("audio-start", { rate: 16000, width: 2, channels: 1 });
  await peer.send("audio-chunk", { rate: 16000, width: 2, channels: 1 }, clipPcmBytes(CLIP));
  // Time for the server to read the chunk before the drain starts.
  await new Promise((r) => setTimeout(r, 300));
  const stopping = srv.server.shutdown();
  const events = await peer.until("error");
  assert.deepEqual(events.slice(-3).map((x) => x.type), ["transcript", "transcript-stop", "error"]);
  assert.equal(events.at(-1)?.data.code, "shutting_down");
  await peer.closedByServer();
  peer.close();
  await stopping;
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("wyoming: a failed batch ends its connection with internal_error", async () => {
  await using srv = await startTestServer(
    { WYOMING_PORT: "0" },
    () => ({ run: () => Promise.reject(new Error("model fell over")) }),
  );
  const peer = await Peer.open(srv.server.wyoming!.port);
  const events = await transcribe(peer, clipPcmBytes(CLIP));
  const error = events.find((e) => e.type === "error");
  assert.equal(error?.data.code, "internal_error");
  assert.match(String(error?.data.text), /model fell over/);
  await peer.closedByServer();
  peer.close();
});

Deno.test("wyoming: a WYOMING_PORT already taken stops the start with a message naming it", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(
      startTestServer({ WYOMING_PORT: String(port) }),
      /cannot listen for Wyoming on 127\.0\.0\.1:\d+: .*WYOMING_PORT/,
    );
  } finally {
    taken.close();
  }
});

Deno.test("wyoming: transcript-chunks come before audio-stop and add up to the transcript", async () => {
  await withServer({}, async (srv, port) => {
    const peer = await Peer.open(port);
    const pcm = clipPcmBytes("digits_pi.wav");
    await peer.send("transcribe", { language: "en" });
    await peer.send("audio-start", { rate: 16000, width: 2, channels: 1 });
    for (let at = 0; at < pcm.length; at += 3200) {
      await peer.send(
        "audio-chunk",
        { rate: 16000, width: 2, channels: 1 },
        pcm.subarray(at, at + 3200),
      );
    }
    // Words are streamed as the decoder commits them, before the audio ends.
    const before = await peer.until("transcript-chunk");
    assert.equal(before.at(-1)?.type, "transcript-chunk");
    await peer.send("audio-stop");
    const events = [...before, ...await peer.until("transcript-stop")];
    assert.equal(events[0].type, "transcript-start");
    assert.equal(events[0].data.language, "en");
    const chunks = events.filter((e) => e.type === "transcript-chunk").map((e) => e.data.text);
    const transcript = events.find((e) => e.type === "transcript")!;
    assert.equal(chunks.join(""), transcript.data.text);
    assert.equal(transcript.data.language, "en");
    const ws = await streamAudio(srv.url, pcm);
    assert.equal(transcript.data.text, ws.finals[0]);
    peer.close();
    await peer.done;
  });
});
