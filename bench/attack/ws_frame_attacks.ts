/** Attacks with WebSocket frames: huge messages, a peer that never answers pings, compressed audio. */
import { type Attack, type AttackContext, closedNear, judge, secs, sleep } from "./attack.ts";
import { knob } from "./knobs.ts";
import { COMPRESSED_FORMATS } from "./media_files.ts";
import { errorCodes, isRefusal, openRawWs, readUntilClosed } from "./raw_ws_client.ts";

const MIB = 1 << 20;
/** How long the server may take to close after a huge message, once we stop sending. */
const CLOSE_AFTER_MESSAGE_MS = 3_000;
/** How often RSS is read while a huge message is sent. */
const RSS_EVERY_MS = 50;
/** How long the server may take to answer compressed audio with an error and a close. */
const COMPRESSED_ANSWER_MS = 2_000;

/**
 * Sends `pieces` (frame headers and payload) until the server ends the connection, watching its
 * RSS; then how the connection ended and the RSS peak above the start.
 */
async function hugeMessage(
  ctx: AttackContext,
  send: (
    write: (b: Uint8Array) => Promise<void>,
    header: (op: number, len: number, fin: boolean) => Promise<void>,
  ) => Promise<number>,
) {
  const c = await openRawWs(ctx.address(1), ctx.port);
  if (isRefusal(c)) {
    return judge({ upgrade: c.statusLine }, [[false, `upgrade refused: ${c.statusLine}`]]);
  }
  const rssBefore = ctx.stats().rssMiB;
  let peak = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        peak = Math.max(peak, ctx.stats().rssMiB);
      } catch {
        break; // the server is gone: the run reports it
      }
      await sleep(RSS_EVERY_MS);
    }
  })();
  const t0 = performance.now();
  // Pings are not answered: a pong written between payload pieces would break the frame.
  const reading = readUntilClosed(c, 30_000, false);
  const sent = await send(
    (b) => c.sock.isEnded ? Promise.reject(new Error("ended")) : c.ws.writeRaw(b),
    (op, len, fin) => c.ws.sendFrame(op, new Uint8Array(0), { length: len, fin, zeroMask: true }),
  );
  const ended = await c.sock.waitForEnd(CLOSE_AFTER_MESSAGE_MS);
  if (!ended) c.sock.close();
  const out = await reading;
  sampling = false;
  await sampler;
  const observed = {
    closeCode: out.code,
    errors: errorCodes(out.texts),
    // A close frame from the server counts as its close even though we then drop the TCP first.
    closedByServer: out.code !== null || c.sock.peerClosedAt !== null,
    closedAfterS: out.closedAfterS === null ? null : secs(c.openedAt - t0) + out.closedAfterS,
    sentMiB: Math.round(sent / MIB * 10) / 10,
    rssGrowthMiB: Math.round((peak - rssBefore) * 10) / 10,
  };
  return judge(observed, [
    [
      observed.closedByServer && (out.code === 1009 || out.code === null),
      `connection ended with ${out.code} ${
        observed.closedByServer ? "by the server" : "by us (the server never closed it)"
      }, not 1009 or a close`,
    ],
    [
      observed.rssGrowthMiB < ctx.knobs.messageRssMiB,
      `RSS grew ${observed.rssGrowthMiB} MiB while the message was sent (limit ${ctx.knobs.messageRssMiB} MiB)`,
    ],
  ]);
}

export const fragmentedMessage: Attack = {
  name: "fragmented-huge-message",
  sent: (k) =>
    `one binary message in ${k.fragments} fragments of ${k.fragmentBytes / MIB} MiB (${
      k.fragments * k.fragmentBytes / MIB
    } MiB in all; MAX_FRAME_BYTES=${k.server.MAX_FRAME_BYTES})`,
  expected: (k) => `1009 or the connection closed, RSS growth under ${k.messageRssMiB} MiB`,
  run: (ctx) =>
    hugeMessage(ctx, async (write, header) => {
      const payload = new Uint8Array(ctx.knobs.fragmentBytes);
      let sent = 0;
      try {
        for (let i = 0; i < ctx.knobs.fragments; i++) {
          await header(i === 0 ? 0x2 : 0x0, payload.length, i === ctx.knobs.fragments - 1);
          await write(payload);
          sent += payload.length;
        }
      } catch {
        // the server ended the connection
      }
      return sent;
    }),
};

export const declaredHugeFrame: Attack = {
  name: "declared-huge-frame",
  sent: (k) =>
    `one binary frame whose header declares ${
      k.declaredFrameBytes / MIB
    } MiB, its payload sent in 1 MiB writes`,
  expected: (k) => `1009 or the connection closed, RSS growth under ${k.messageRssMiB} MiB`,
  run: (ctx) =>
    hugeMessage(ctx, async (write, header) => {
      const chunk = new Uint8Array(MIB);
      let sent = 0;
      try {
        await header(0x2, ctx.knobs.declaredFrameBytes, true);
        while (sent < ctx.knobs.declaredFrameBytes) {
          await write(chunk.subarray(0, Math.min(MIB, ctx.knobs.declaredFrameBytes - sent)));
          sent += MIB;
        }
      } catch {
        // the server ended the connection
      }
      return Math.min(sent, ctx.knobs.declaredFrameBytes);
    }),
};

export const deafToPings: Attack = {
  name: "never-answers-pings",
  sent: () => "a raw WebSocket that sends nothing and never answers a ping",
  expected: (k) => `closed at ~IDLE_TIMEOUT_S = ${k.server.IDLE_TIMEOUT_S} s`,
  async run(ctx) {
    const idleS = knob(ctx.knobs, "IDLE_TIMEOUT_S");
    const c = await openRawWs(ctx.address(1), ctx.port);
    if (isRefusal(c)) {
      return judge({ upgrade: c.statusLine }, [[false, `upgrade refused: ${c.statusLine}`]]);
    }
    const out = await readUntilClosed(c, (idleS + ctx.knobs.closeSlackS + 1) * 1000, false);
    const observed = {
      closeCode: out.code,
      errors: errorCodes(out.texts),
      pingsIgnored: out.pings,
      closedAfterS: out.closedAfterS,
    };
    return judge(observed, [[
      closedNear(out.closedAfterS, idleS, ctx.knobs.closeSlackS),
      out.closedAfterS === null
        ? `not closed within ${idleS + ctx.knobs.closeSlackS + 1} s`
        : `closed at ${out.closedAfterS} s, not at ~${idleS} s`,
    ]]);
  },
};

/** What the error must name, for each compressed format. */
const NAMES: Record<string, RegExp> = {
  ogg: /ogg/i,
  webm: /webm|matroska/i,
  flac: /flac/i,
  mp3: /mp3|id3|mpeg/i,
};

export const compressedAudio: Attack = {
  name: "compressed-audio-on-ws",
  sent: () =>
    `first binary frame the first 4 KiB of ${
      COMPRESSED_FORMATS.map((c) => c.format).join(", ")
    } files (one stream each)`,
  expected: () => "an error message naming the format, then a close",
  async run(ctx) {
    const results = await Promise.all(COMPRESSED_FORMATS.map(async (f, i) => {
      const bytes = ctx.media.compressed[f.ext].subarray(0, 4096);
      const c = await openRawWs(ctx.address(i + 1), ctx.port);
      if (isRefusal(c)) return { ...f, answer: `refused ${c.status}`, ok: false };
      await c.ws.sendBinary(bytes).catch(() => {});
      const out = await readUntilClosed(c, COMPRESSED_ANSWER_MS, true);
      const errors = out.texts.filter((t) => errorCodes([t]).length > 0);
      const named = errors.some((t) => NAMES[f.ext].test(t));
      return {
        ...f,
        answer: `${errorCodes(out.texts).join("+") || "no error"}/${out.code}`,
        ok: named && out.closedAfterS !== null,
      };
    }));
    const observed = Object.fromEntries(results.map((r) => [r.format, r.answer]));
    return judge(
      observed,
      results.map((r) => [
        r.ok,
        `${r.format}: got ${r.answer}, not an error naming it and a close`,
      ]),
    );
  },
};
