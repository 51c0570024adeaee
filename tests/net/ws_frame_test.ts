import assert from "node:assert/strict";
import { acceptKey, checkHandshake } from "../../src/net/ws_handshake.ts";
import {
  closePayload,
  encodeFrame,
  type FrameHeader,
  MessageGuard,
  parseClosePayload,
  parseFrameHeader,
} from "../../src/net/ws_frame.ts";

const header = (o: Partial<FrameHeader>): FrameHeader => ({
  fin: true,
  rsv: 0,
  opcode: 2,
  masked: true,
  length: 0,
  mask: new Uint8Array(4),
  size: 6,
  ...o,
});

Deno.test("frame headers: 7-bit, 16-bit and 64-bit lengths; a length past 2^53 is invalid", () => {
  assert.deepEqual(parseFrameHeader(new Uint8Array([0x82])), { kind: "incomplete" });
  const small = parseFrameHeader(new Uint8Array([0x81, 0x85, 1, 2, 3, 4]));
  assert.equal(small.kind === "header" && small.header.length, 5);
  const mid = parseFrameHeader(new Uint8Array([0x02, 0xfe, 0x01, 0x00, 1, 2, 3, 4]));
  assert.ok(mid.kind === "header" && mid.header.length === 256 && !mid.header.fin);
  const big = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x04, 0x60, 0, 0, 1, 2, 3, 4]);
  const b = parseFrameHeader(big);
  assert.ok(b.kind === "header" && b.header.length === 70 * 1048576);
  const huge = new Uint8Array([0x82, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  assert.equal(parseFrameHeader(huge).kind, "invalid");
});

Deno.test("the running size of a fragmented message is judged against its kind's limit before any payload", () => {
  const g = new MessageGuard({ maxBinaryBytes: 100, maxTextBytes: 10 });
  assert.deepEqual(g.judge(header({ fin: false, length: 60 })), {
    kind: "data",
    final: false,
    message: 2,
  });
  assert.deepEqual(g.judge(header({ opcode: 0, fin: false, length: 40 })), {
    kind: "data",
    final: false,
    message: 2,
  });
  assert.deepEqual(g.judge(header({ opcode: 0, length: 1 })), {
    kind: "too_large",
    message: "binary",
    size: 101,
  });
  assert.deepEqual(g.judge(header({ opcode: 1, length: 11 })), {
    kind: "too_large",
    message: "text",
    size: 11,
  });
  assert.deepEqual(g.judge(header({ length: 100 })), { kind: "data", final: true, message: 2 });
});

Deno.test("protocol rules: masking, RSV, opcodes, control frames, continuation order", () => {
  const g = () => new MessageGuard({ maxBinaryBytes: 100, maxTextBytes: 10 });
  const broken = (h: Partial<FrameHeader>) => g().judge(header(h)).kind === "protocol_error";
  assert.ok(broken({ masked: false }));
  assert.ok(broken({ rsv: 4 }));
  assert.ok(broken({ opcode: 3 }));
  assert.ok(broken({ opcode: 0xb }));
  assert.ok(broken({ opcode: 9, fin: false }));
  assert.ok(broken({ opcode: 9, length: 126 }));
  assert.ok(broken({ opcode: 0 }));
  const mid = g();
  mid.judge(header({ fin: false, length: 1 }));
  assert.equal(mid.judge(header({ opcode: 9 })).kind, "control", "a ping between fragments");
  assert.equal(mid.judge(header({ opcode: 1 })).kind, "protocol_error");
});

Deno.test("close payloads: codes checked, reason UTF-8; server frames unmasked", () => {
  assert.deepEqual(parseClosePayload(new Uint8Array()), { ok: true, code: 1005, reason: "" });
  assert.equal(parseClosePayload(new Uint8Array([3])).ok, false);
  assert.equal(parseClosePayload(new Uint8Array([0x03, 0xed])).ok, false); // 1005 on the wire
  assert.deepEqual(parseClosePayload(new Uint8Array([0x03, 0xe8, 0x68, 0x69])), {
    ok: true,
    code: 1000,
    reason: "hi",
  });
  assert.deepEqual(parseClosePayload(new Uint8Array([0x03, 0xe8, 0xff])), {
    ok: false,
    code: 1007,
    reason: "close reason is not UTF-8",
  });
  assert.deepEqual([...encodeFrame(1, new TextEncoder().encode("ok"))], [0x81, 2, 0x6f, 0x6b]);
  assert.equal(encodeFrame(2, new Uint8Array(70_000))[1], 127);
});

Deno.test("a close reason over 123 bytes is cut at a character boundary, never mid-character", () => {
  for (const reason of ["é".repeat(100), "a" + "é".repeat(100), "🎙".repeat(40), "x".repeat(200)]) {
    const p = closePayload(1000, reason);
    assert.ok(p.length <= 125, `${p.length} bytes`);
    const cut = new TextDecoder("utf-8", { fatal: true }).decode(p.subarray(2));
    assert.ok(reason.startsWith(cut) && cut.length > 0, cut);
    assert.ok(new TextEncoder().encode(cut).length > 119, "at most one character dropped");
    assert.deepEqual(parseClosePayload(p), { ok: true, code: 1000, reason: cut });
  }
});

Deno.test("handshake: RFC 6455's example key; missing pieces are reasons, not exceptions", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const ok = new Headers({
    upgrade: "websocket",
    connection: "keep-alive, Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  });
  assert.deepEqual(checkHandshake("GET", ok), { ok: true, key: "dGhlIHNhbXBsZSBub25jZQ==" });
  assert.equal(checkHandshake("POST", ok).ok, false);
  for (const drop of ["upgrade", "connection", "sec-websocket-version", "sec-websocket-key"]) {
    const h = new Headers(ok);
    h.delete(drop);
    assert.equal(checkHandshake("GET", h).ok, false, drop);
  }
});
