/**
 * Fuzz of the `/ws` stream session's state machine (`src/stream/stream_session.ts`): audio of any
 * size, EOS, RESET and keepalive in any order, interleaved with a scripted decoder that takes
 * work, answers it with random tokens (in any order, late, after a RESET, after the close) or
 * fails it. No model runs. Invariants, after every step: nothing throws; every message is a
 * valid protocol message; each EOS gets exactly one final, in order, holding exactly the tokens
 * its utterance was given; nothing follows about audio a RESET dropped, nor anything after the
 * close; accepted audio keeps the backlog within MAX_BACKLOG_S (audio past it is refused with
 * `rate_exceeded`); and once the stream is drained or closed no work or backlog is left. A second
 * test puts the session behind its connection (`WsConnection` over a recording socket): any
 * frames, malformed and oversized ones included, are answered in protocol messages; an error
 * that closes is the last message and sets the close code; the connection is released once.
 */
import assert from "node:assert/strict";
import { initialTdtState } from "../../src/decode/tdt_state.ts";
import {
  CTRL_EOS,
  CTRL_RESET,
  encodeServerMessage,
  type ServerMessage,
} from "../../src/protocol/protocol.ts";
import { closeCodeFor, WIRE_ERRORS } from "../../src/protocol/wire_errors.ts";
import { type ConnectionLimits, WsConnection } from "../../src/server/ws_connection.ts";
import {
  type SessionWork,
  type StreamContext,
  StreamSession,
} from "../../src/stream/stream_session.ts";
import type { Utterance } from "../../src/stream/utterance.ts";
import { fuzzStructured } from "../fuzz/json_mutator.ts";
import { randomBytes, type Rng } from "../fuzz/mutator.ts";
import { SCRIPTED_EXTRACTOR, SCRIPTED_SPEC, SCRIPTED_VOCAB } from "../fuzz/scripted_model.ts";

const VOCAB = SCRIPTED_VOCAB;
const SPEC = SCRIPTED_SPEC;
const EXTRACTOR = SCRIPTED_EXTRACTOR;
/**
 * Frames an EOS adds without audio: those the extractor held back until the samples after them
 * came (half an FFT window, 256 samples).
 */
const EOS_TAIL_FRAMES = 2;

type Op =
  | { op: "audio"; bytes: Uint8Array }
  | { op: "eos" | "reset" | "keepalive" | "take" | "complete" | "fail" | "close" };

interface Case {
  endpointMs: number;
  tentative: boolean;
  partialMaxWords: number;
  geometry: { chunkFrames: number; leftFrames: number; rightFrames: number };
  maxBacklogFrames: number;
  ops: Op[];
}

function makeCase(rng: Rng): Case {
  const ops: Op[] = [];
  for (let n = 1 + rng.int(60); n > 0; n--) {
    const r = rng.int(100);
    if (r < 35) {
      // Up to 0.3 s, odd lengths included; now and then a burst far ahead of real time.
      const size = rng.int(20) === 0 ? 16_000 + rng.int(64_000) : rng.int(9600);
      ops.push({ op: "audio", bytes: randomBytes(rng, size) });
    } else if (r < 45) ops.push({ op: "eos" });
    else if (r < 50) ops.push({ op: "reset" });
    else if (r < 55) ops.push({ op: "keepalive" });
    else if (r < 75) ops.push({ op: "take" });
    else if (r < 97) ops.push({ op: "complete" });
    else if (r < 98) ops.push({ op: "fail" });
    else ops.push({ op: "close" });
  }
  return {
    endpointMs: rng.pick([0, 0, 80, 400]),
    tentative: rng.next() < 0.3,
    partialMaxWords: rng.pick([0, 0, 1, 3]),
    geometry: rng.pick([
      { chunkFrames: 8, leftFrames: 0, rightFrames: 0 },
      { chunkFrames: 16, leftFrames: 16, rightFrames: 8 },
      { chunkFrames: 24, leftFrames: 8, rightFrames: 16 },
    ]),
    maxBacklogFrames: rng.pick([100, 300, 1000]),
    ops,
  };
}

const show = (c: Case) =>
  JSON.stringify({
    ...c,
    ops: c.ops.map((o) => o.op === "audio" ? `audio:${o.bytes.length}` : o.op),
  });

/** A message as a client parses it, checked against the protocol's shapes. */
function checkMessage(m: ServerMessage): void {
  const parsed = JSON.parse(encodeServerMessage(m));
  assert.equal(typeof parsed.text, "string");
  const checkWords = (words: unknown) => {
    assert.ok(Array.isArray(words));
    let lastStart = 0;
    for (const w of words) {
      assert.equal(typeof w.word, "string");
      assert.ok(w.word.length > 0);
      assert.ok(Number.isFinite(w.start) && Number.isFinite(w.end), JSON.stringify(w));
      assert.ok(w.start >= 0 && w.end >= w.start, JSON.stringify(w));
      assert.ok(w.start >= lastStart, "word times are monotonic");
      lastStart = w.start;
    }
  };
  switch (parsed.type) {
    case "partial":
      if (parsed.stable !== undefined) assert.ok(parsed.text.startsWith(parsed.stable));
      if (parsed.words !== undefined) checkWords(parsed.words);
      if (parsed.text_offset !== undefined) {
        assert.ok(Number.isInteger(parsed.text_offset) && parsed.text_offset > 0);
      }
      break;
    case "final":
      checkWords(parsed.words);
      break;
    case "segment":
      assert.ok(Number.isInteger(parsed.index) && parsed.index >= 0);
      checkWords(parsed.words);
      assert.ok(parsed.start >= 0 && parsed.end >= parsed.start);
      break;
    default:
      assert.fail(`a stream session sends no ${parsed.type}`);
  }
}

/** What the client has asked for: utterances in order, each ended by an EOS or still open. */
interface ModelUtterance {
  ended: boolean;
  /** The session's utterance, once work for it was seen. */
  real: Utterance | null;
  tokens: number[];
  segments: number;
}

function randomResult(rng: Rng, w: SessionWork, stale: boolean) {
  const steps = w.work.steps;
  const encoderFrames = Math.max(
    1,
    Math.ceil((steps[steps.length - 1].chunkEnd - steps[0].chunkStart) / 8),
  );
  const n = stale || rng.next() < 0.3 ? rng.int(2) : rng.int(6);
  const frames = Array.from({ length: n }, () => rng.int(encoderFrames)).sort((a, b) => a - b);
  const result = {
    tokens: frames.map(() => rng.int(8)),
    frames,
    durations: frames.map(() => rng.pick(SPEC.durations)),
    state: initialTdtState(SPEC),
  };
  const tentative = w.work.tentative && rng.next() < 0.7
    ? { tokens: [rng.int(8)], frames: [0], durations: [1] }
    : null;
  return { result, tentative };
}

/** What the cases reached, so a change that starves a path is noticed. */
const reached = new Map<string, number>();
const count = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);

function runCase(c: Case, rng: Rng): void {
  const ctx: StreamContext = {
    geometry: { ...c.geometry, subsampling: 8 },
    extractor: EXTRACTOR,
    spec: SPEC,
    vocab: VOCAB,
    maxBacklogFrames: c.maxBacklogFrames,
    tentative: c.tentative,
    partialMaxWords: c.partialMaxWords,
  };
  const sent: ServerMessage[] = [];
  /** Per message: whether it came out of a decoded step. */
  const fromStep: boolean[] = [];
  let inComplete = false;
  let failures = 0;
  const session = new StreamSession(1, ctx, (m) => {
    sent.push(m);
    fromStep.push(inComplete);
  }, { endpointMs: c.endpointMs });
  session.onBatchFailed = () => failures++;
  let queue: ModelUtterance[] = [];
  /** Work taken and not answered yet; `stale` once a RESET dropped its utterance. */
  let held: { w: SessionWork; stale: boolean }[] = [];
  let closed = false;

  const close = () => {
    session.close();
    closed = true;
    queue = [];
  };
  /** Messages already checked. */
  let checked = 0;
  /** Checks the messages that came out since the last check against the model. */
  const settle = () => {
    const out = sent.slice(checked);
    const stepped = fromStep.slice(checked);
    checked = sent.length;
    if (closed) assert.deepEqual(out, [], "nothing after the close");
    for (const [i, m] of out.entries()) {
      checkMessage(m);
      count(m.type);
      const front = queue[0];
      assert.ok(front, `a ${m.type} with no utterance pending`);
      if (m.type === "final") {
        assert.ok(front.ended, "a final only after its EOS");
        assert.equal(m.text, VOCAB.decode(front.tokens), "the final holds its utterance's tokens");
        queue.shift();
      } else if (m.type === "segment") {
        assert.ok(c.endpointMs > 0, "segments only with endpointing");
        assert.equal(m.index, front.segments++);
      } else {
        assert.ok(stepped[i], "partials come from a decoded step");
        assert.ok(front.real !== null);
      }
    }
  };

  for (const op of c.ops) {
    const from = sent.length;
    switch (op.op) {
      case "audio":
      case "eos":
      case "reset":
      case "keepalive": {
        const message = op.op === "audio"
          ? { kind: "audio" as const, bytes: op.bytes }
          : { kind: op.op };
        const before = session.backlogFrames;
        const violation = session.receive(message);
        if (!closed) {
          if (op.op === "audio" && op.bytes.length > 0) {
            const last = queue[queue.length - 1];
            if (!last || last.ended) {
              queue.push({ ended: false, real: null, tokens: [], segments: 0 });
            }
          } else if (op.op === "eos") {
            const last = queue[queue.length - 1];
            if (last && !last.ended) last.ended = true;
            else queue.push({ ended: true, real: null, tokens: [], segments: 0 });
          } else if (op.op === "reset") {
            queue = [];
            for (const h of held) h.stale = true;
          }
        }
        if (violation) {
          assert.ok(!closed && op.op === "audio");
          assert.equal(violation.code, "rate_exceeded");
          count("rate_exceeded");
          assert.ok(session.backlogFrames > c.maxBacklogFrames);
          assert.ok(violation.message.length < 200);
          settle();
          close(); // the connection ends the stream
        } else if (!closed) {
          const after = session.backlogFrames;
          if (op.op === "eos") {
            assert.ok(after <= before + EOS_TAIL_FRAMES, `EOS: ${before} → ${after} frames`);
          } else assert.ok(after <= c.maxBacklogFrames, `${op.op}: ${after} frames waiting`);
        }
        break;
      }
      case "take": {
        const w = session.takeWork(1 + rng.int(4));
        if (closed) assert.equal(w, null);
        if (w) {
          assert.ok(queue.length > 0);
          queue[0].real ??= w.utterance;
          assert.equal(queue[0].real, w.utterance, "work is for the oldest utterance");
          held.push({ w, stale: false });
        }
        break;
      }
      case "complete": {
        if (held.length === 0) break;
        const [h] = held.splice(rng.int(held.length), 1);
        const { result, tentative } = randomResult(rng, h.w, h.stale);
        inComplete = true;
        session.completeWork(h.w, result, tentative);
        inComplete = false;
        if (h.stale || closed) {
          count(h.stale ? "stale work" : "work after the close");
          assert.deepEqual(sent.slice(from), [], "nothing about audio a RESET dropped");
        } else {
          queue[0].tokens.push(...result.tokens);
        }
        break;
      }
      case "fail": {
        if (held.length === 0) break;
        const [h] = held.splice(rng.int(held.length), 1);
        const before = failures;
        session.failWork(h.w, new Error("scripted failure"));
        assert.equal(failures, before + (closed ? 0 : 1));
        settle();
        if (!closed) close(); // the connection ends the stream (1011)
        break;
      }
      case "close":
        close();
        break;
    }
    settle();
  }

  if (!closed) {
    // The end of a well-behaved client: EOS, then every final.
    for (const h of held) {
      const { result, tentative } = randomResult(rng, h.w, h.stale);
      inComplete = true;
      session.completeWork(h.w, result, tentative);
      inComplete = false;
      if (!h.stale) queue[0].tokens.push(...result.tokens);
      settle();
    }
    held = [];
    if (session.receive({ kind: "eos" }) === null) {
      const last = queue[queue.length - 1];
      if (last && !last.ended) last.ended = true;
      else queue.push({ ended: true, real: null, tokens: [], segments: 0 });
    }
    settle();
    for (let guard = 0; session.pending; guard++) {
      assert.ok(guard < 10_000, "the stream drains");
      const w = session.takeWork(4);
      assert.ok(w, "pending work is ready after EOS");
      queue[0].real ??= w.utterance;
      const { result, tentative } = randomResult(rng, w, false);
      inComplete = true;
      session.completeWork(w, result, tentative);
      inComplete = false;
      queue[0].tokens.push(...result.tokens);
      settle();
    }
    assert.deepEqual(queue, [], "every EOS got its final");
    assert.equal(session.backlogFrames, 0);
    close();
  }
  assert.equal(session.pending, false);
  assert.equal(session.backlogFrames, 0);
  assert.equal(session.takeWork(4), null);
  assert.equal(session.readyChunks(4), 0);
  assert.equal(session.wantsAudio, false);
  const from = sent.length;
  assert.equal(session.receive({ kind: "audio", bytes: new Uint8Array(3200) }), null);
  assert.equal(session.receive({ kind: "eos" }), null);
  assert.deepEqual(sent.slice(from), [], "a closed stream is silent");
}

Deno.test("fuzz: a stream session fed any sequence of audio, EOS, RESET and keepalive", async () => {
  await fuzzStructured({ seed: 0x53545245, cases: 1200, make: makeCase, show }, runCase);
  for (
    const what of [
      "partial",
      "segment",
      "final",
      "stale work",
      "work after the close",
      "rate_exceeded",
    ]
  ) {
    assert.ok((reached.get(what) ?? 0) >= 10, `${what}: ${JSON.stringify([...reached])}`);
  }
});

/** A socket that records what the connection sends, and answers a close at once. */
class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  binaryType: BinaryType = "blob";
  sent: string[] = [];
  closedWith: number | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  send(data: string) {
    assert.equal(this.readyState, WebSocket.OPEN, "sent on an open socket only");
    this.sent.push(data);
  }
  close(code: number) {
    assert.equal(this.closedWith, null, "closed once");
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
    queueMicrotask(() => this.onclose?.(new CloseEvent("close", { code })));
  }
}

const CONN_LIMITS: ConnectionLimits = {
  maxBinaryBytes: 64_000,
  maxTextBytes: 256,
  maxMessagesPerS: 1_000_000,
  idleTimeoutMs: 60_000,
  sessionMaxMs: 60_000,
  slowConsumerBytes: 1 << 20,
  slowConsumerMs: 60_000,
  closeTimeoutMs: 60_000,
  closeLingerMs: 0,
};

/** A client frame: audio (sometimes a container's magic), a control message, or text of any kind. */
function clientFrame(rng: Rng): string | ArrayBuffer {
  switch (rng.int(12)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const size = rng.int(30) === 0 ? 64_000 + rng.int(2) : rng.int(6400);
      const bytes = randomBytes(rng, size);
      if (rng.int(30) === 0) bytes.set(new TextEncoder().encode("OggS").subarray(0, size));
      return bytes.buffer as ArrayBuffer;
    }
    case 4:
      return rng.pick([CTRL_EOS, '{"type":"eos"}']);
    case 5:
      return rng.pick([CTRL_RESET, '{"type":"reset"}']);
    case 6:
      return '{"type":"keepalive"}';
    case 7:
      return new TextEncoder().encode(rng.pick([CTRL_EOS, CTRL_RESET])).buffer;
    case 8:
      return rng.pick(['{"type":"EOS"}', "{", "null", '{"type":{"toString":1}}', "", "é😀"]);
    case 9:
      return "x".repeat(200 + rng.int(100));
    default:
      return new ArrayBuffer(0);
  }
}

Deno.test("fuzz: a /ws connection fed any frames answers in protocol messages and ends once", async () => {
  const ctx: StreamContext = {
    geometry: { chunkFrames: 8, leftFrames: 8, rightFrames: 8, subsampling: 8 },
    extractor: EXTRACTOR,
    spec: SPEC,
    vocab: VOCAB,
    maxBacklogFrames: 500,
  };
  const seen = new Map<string, number>();
  await fuzzStructured({
    seed: 0x57534353,
    cases: 600,
    make: (rng) => Array.from({ length: 1 + rng.int(40) }, () => clientFrame(rng)),
    show: (frames) =>
      JSON.stringify(
        frames.map((f) => typeof f === "string" ? f.slice(0, 40) : `binary:${f.byteLength}`),
      ),
  }, async (frames, rng) => {
    const socket = new FakeSocket();
    let released = 0;
    let session: StreamSession | null = null;
    const conn = new WsConnection(
      socket,
      (send) => session = new StreamSession(1, ctx, send),
      CONN_LIMITS,
      { wake: () => {}, release: () => released++, log: () => {} },
    );
    let held: SessionWork | null = null;
    for (const data of frames) {
      socket.onmessage?.(new MessageEvent("message", { data }));
      // The decoder runs between frames now and then.
      if (rng.next() < 0.5) {
        held ??= session!.takeWork(1 + rng.int(3));
        if (held && rng.next() < 0.7) {
          const { result } = randomResult(rng, held, false);
          session!.completeWork(held, result);
          held = null;
        }
      }
      await Promise.resolve();
    }
    const messages = socket.sent.map((s) => JSON.parse(s) as ServerMessage);
    const errors = messages.filter((m) => m.type === "error");
    for (const [i, m] of messages.entries()) {
      if (m.type === "error") {
        assert.ok(m.code in WIRE_ERRORS, m.code);
        assert.ok(m.message.length <= 600, `${m.code}: ${m.message.length} chars`);
        seen.set(m.code, (seen.get(m.code) ?? 0) + 1);
        // An error that closes is the last message.
        if (closeCodeFor(m.code) !== null) {
          assert.equal(i, messages.length - 1, `${m.code} is the last message`);
          assert.equal(socket.closedWith, closeCodeFor(m.code));
        }
      } else checkMessage(m);
    }
    if (socket.closedWith !== null) {
      assert.ok(errors.length > 0, "a close follows an error");
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(released, 1, "released once the close was answered");
      assert.equal(session!.closed, true);
      seen.set("closed", (seen.get("closed") ?? 0) + 1);
    }
    conn.release();
    conn.release();
    assert.equal(released, 1, "released once");
    assert.equal(session!.pending, false);
    assert.equal(session!.takeWork(4), null);
  });
  for (const what of ["closed", "invalid_message", "message_too_large", "unsupported_audio"]) {
    assert.ok((seen.get(what) ?? 0) >= 5, `${what}: ${JSON.stringify([...seen])}`);
  }
});
