/**
 * Fuzz of RFC 6455 framing (`src/net/ws_frame.ts`): frame headers parse to what their bytes say
 * or to "incomplete"/"invalid", never an exception, and the same from any prefix long enough;
 * MessageGuard's verdicts match the RFC's rules and never pass a message over its kind's limit;
 * close payloads are judged with the codes the socket sends (1002, 1007); unmasking in pieces
 * equals unmasking whole.
 */
import assert from "node:assert/strict";
import {
  closePayload,
  encodeFrame,
  type FrameHeader,
  type FrameVerdict,
  MessageGuard,
  parseClosePayload,
  parseFrameHeader,
  unmask,
  validCloseCode,
} from "../../src/net/ws_frame.ts";
import { fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";
import { frameStreams } from "../fuzz/ws_frames.ts";

const LIMITS = { maxBinaryBytes: 1000, maxTextBytes: 100 };
const CORPUS = frameStreams();

/** The header as its bytes say, read independently of the module. */
function expectedHeader(b: Uint8Array): FrameHeader | "incomplete" | "invalid" {
  if (b.length < 2) return "incomplete";
  const short = b[1] & 0x7f;
  const masked = (b[1] & 0x80) !== 0;
  const ext = short === 126 ? 2 : short === 127 ? 8 : 0;
  const size = 2 + ext + (masked ? 4 : 0);
  if (b.length < size) return "incomplete";
  let length = short;
  if (short === 126) length = b[2] * 256 + b[3];
  if (short === 127) {
    let big = 0n;
    for (let i = 2; i < 10; i++) big = big * 256n + BigInt(b[i]);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return "invalid";
    length = Number(big);
  }
  return {
    fin: (b[0] & 0x80) !== 0,
    rsv: (b[0] >> 4) & 7,
    opcode: b[0] & 15,
    masked,
    length,
    mask: masked ? b.slice(2 + ext, size) : new Uint8Array(0),
    size,
  };
}

Deno.test("fuzz: a frame header is what its bytes say, from any prefix that holds it", async () => {
  await fuzz(
    { seed: 0x46524d48, corpus: CORPUS, cases: 60_000, randomCases: 10_000, maxRandomLength: 24 },
    (input) => {
      const want = expectedHeader(input);
      const got = parseFrameHeader(input);
      if (want === "incomplete" || want === "invalid") assert.equal(got.kind, want);
      else {
        assert.ok(got.kind === "header");
        assert.deepEqual(got.header, want);
        assert.ok(got.header.size <= input.length);
      }
      // The socket reads a header from whatever has arrived: any prefix too short is
      // "incomplete", and every longer one gives the same answer.
      const need = input.length < 2
        ? Infinity
        : 2 + ({ 126: 2, 127: 8 }[input[1] & 0x7f] ?? 0) + (input[1] & 0x80 ? 4 : 0);
      for (let k = 0; k <= Math.min(input.length, 16); k++) {
        const part = parseFrameHeader(input.subarray(0, k));
        if (k < need) assert.equal(part.kind, "incomplete", `prefix ${k}`);
        else assert.deepEqual(part, got, `prefix ${k}`);
      }
    },
  );
});

/** MessageGuard's rules, restated from RFC 6455 §5 for a differential check. */
class ReferenceGuard {
  #opcode: number | null = null;
  #size = 0;

  judge(h: FrameHeader): FrameVerdict["kind"] | { message: number; size: number; fin: boolean } {
    if (h.rsv !== 0 || !h.masked) return "protocol_error";
    if (h.opcode >= 8) {
      if (h.opcode > 10 || !h.fin || h.length > 125) return "protocol_error";
      return "control";
    }
    if (h.opcode > 2) return "protocol_error";
    if (h.opcode === 0 && this.#opcode === null) return "protocol_error";
    if (h.opcode !== 0 && this.#opcode !== null) return "protocol_error";
    if (h.opcode !== 0) {
      this.#opcode = h.opcode;
      this.#size = 0;
    }
    this.#size += h.length;
    const message = this.#opcode!;
    if (h.fin) this.#opcode = null;
    return { message, size: this.#size, fin: h.fin };
  }
}

Deno.test("fuzz: a stream of frames is judged by the RFC's rules; no message passes its limit", async () => {
  let judged = 0;
  const kinds = new Map<string, number>();
  await fuzz(
    { seed: 0x47554152, corpus: CORPUS, cases: 100_000, randomCases: 10_000, maxRandomLength: 300 },
    (input) => {
      const guard = new MessageGuard(LIMITS);
      const ref = new ReferenceGuard();
      let at = 0;
      for (;;) {
        const parsed = parseFrameHeader(input.subarray(at));
        if (parsed.kind !== "header") return;
        const h = parsed.header;
        const verdict = guard.judge(h);
        judged++;
        kinds.set(verdict.kind, (kinds.get(verdict.kind) ?? 0) + 1);
        const want = ref.judge(h);
        if (typeof want === "string") assert.equal(verdict.kind, want);
        else {
          const limit = want.message === 1 ? LIMITS.maxTextBytes : LIMITS.maxBinaryBytes;
          if (want.size > limit) {
            assert.deepEqual(verdict, {
              kind: "too_large",
              message: want.message === 1 ? "text" : "binary",
              size: want.size,
            });
          } else {
            assert.deepEqual(verdict, { kind: "data", final: want.fin, message: want.message });
          }
        }
        if (verdict.kind === "protocol_error") return; // the socket closes 1002 here
        const payload = input.slice(at + h.size, at + h.size + h.length);
        if (payload.length < h.length) return; // the stream ends mid-payload
        unmask(payload, h.mask);
        if (verdict.kind === "control") {
          assert.ok(h.length <= 125 && h.fin && [8, 9, 10].includes(h.opcode));
          if (h.opcode === 8) checkClose(payload);
        } else if (verdict.kind === "data") {
          assert.ok(guard.opcode === (verdict.final ? null : verdict.message));
        }
        at += h.size + h.length;
      }
    },
  );
  assert.ok(judged > 150_000, `${judged} frames judged`);
  for (const kind of ["control", "data", "too_large", "protocol_error"]) {
    assert.ok((kinds.get(kind) ?? 0) > 500, `${kind}: ${kinds.get(kind)}`);
  }
});

function checkClose(p: Uint8Array): void {
  const info = parseClosePayload(p);
  if (info.ok) {
    if (p.length === 0) assert.deepEqual(info, { ok: true, code: 1005, reason: "" });
    else {
      assert.ok(validCloseCode(info.code));
      assert.equal(info.code, (p[0] << 8) | p[1]);
      assert.deepEqual(new TextEncoder().encode(info.reason), p.subarray(2));
    }
  } else {
    assert.ok(info.code === 1002 || info.code === 1007);
    assert.ok(info.reason.length > 0);
  }
}

Deno.test("fuzz: any close payload gets a code and reason or 1002/1007; ours parse back", async () => {
  const closes = CORPUS.map((s) => s.subarray(6)).filter((p) => p.length <= 125);
  await fuzz({ seed: 0x434c4f53, corpus: closes, cases: 50_000, randomCases: 10_000 }, (input) => {
    checkClose(input.subarray(0, 125));
  });
  const rng = seededRng(0x52534e);
  const reasons = ["", "bye", "message_too_large", "ünïcode ✓", "🎙".repeat(30)];
  for (let i = 0; i < 5000; i++) {
    const code = rng.pick([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 3000, 4999]);
    // At most 123 bytes of reason: closePayload's cut keeps a reason that fits whole.
    const reason = [...rng.pick(reasons)].slice(0, rng.int(40)).join("");
    const p = closePayload(code, reason);
    if (new TextEncoder().encode(reason).length > 123) continue;
    assert.deepEqual(parseClosePayload(p), { ok: true, code, reason });
  }
});

Deno.test("fuzz: unmasking in pieces at any offsets equals unmasking whole; server frames parse back", () => {
  const rng = seededRng(0x4d41534b);
  for (let i = 0; i < 5000; i++) {
    const payload = randomBytes(rng, rng.int(300));
    const mask = randomBytes(rng, 4);
    const whole = payload.slice();
    unmask(whole, mask);
    const pieces = payload.slice();
    for (let off = 0; off < pieces.length;) {
      const n = 1 + rng.int(17);
      unmask(pieces.subarray(off, off + n), mask, off);
      off += n;
    }
    assert.deepEqual(pieces, whole);
    unmask(whole, mask);
    assert.deepEqual(whole, payload, "unmasking twice gives the payload back");
  }
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
    for (const opcode of [0, 1, 2, 8, 9, 10]) {
      const frame = encodeFrame(opcode, new Uint8Array(len), opcode !== 0);
      const h = parseFrameHeader(frame);
      assert.ok(h.kind === "header");
      assert.equal(h.header.length, len);
      assert.equal(h.header.opcode, opcode);
      assert.equal(h.header.fin, opcode !== 0);
      assert.equal(h.header.masked, false);
      assert.equal(h.header.size + len, frame.length);
    }
  }
});
