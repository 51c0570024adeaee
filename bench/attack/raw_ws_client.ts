/** Raw WebSocket clients from a chosen source address, and a bounded read of what comes back. */
import { RawWebSocket, type UpgradeRefusal } from "../../tests/server/raw_ws.ts";
import { LoopbackSocket } from "./loopback_socket.ts";

export interface RawClient {
  ws: RawWebSocket;
  sock: LoopbackSocket;
  openedAt: number;
}

/** Connects from `source` and asks for the upgrade; the refusal's status when refused. */
export async function openRawWs(
  source: string,
  port: number,
  headers: Record<string, string> = {},
  path = "/ws",
): Promise<RawClient | UpgradeRefusal> {
  const sock = await LoopbackSocket.connect(source, port);
  try {
    const ws = await RawWebSocket.handshake(sock, port, path, headers);
    if (!(ws instanceof RawWebSocket)) return ws;
    return { ws, sock, openedAt: performance.now() };
  } catch (err) {
    sock.close();
    return { status: 0, statusLine: `connection ended during the handshake (${err})` };
  }
}

export function isRefusal(x: RawClient | UpgradeRefusal): x is UpgradeRefusal {
  return "status" in x;
}

export interface ReadOutcome {
  /** The close frame's code; null when the connection ended without one (or we gave up). */
  code: number | null;
  /** Text messages received. */
  texts: string[];
  pings: number;
  /** Seconds from `openedAt` until the server closed (close frame or end); null if it never did. */
  closedAfterS: number | null;
}

/**
 * Reads frames until the server's close frame or the end of the connection, answering pings
 * only when `answerPings`; gives up (and closes) after `limitMs`.
 */
export async function readUntilClosed(
  c: RawClient,
  limitMs: number,
  answerPings: boolean,
): Promise<ReadOutcome> {
  const out: ReadOutcome = { code: null, texts: [], pings: 0, closedAfterS: null };
  const giveUp = setTimeout(() => c.sock.close(), limitMs);
  try {
    for (;;) {
      const f = await c.ws.readFrame();
      if (!f) {
        if (c.sock.peerClosedAt !== null) {
          out.closedAfterS = Math.round((c.sock.peerClosedAt - c.openedAt) / 10) / 100;
        }
        break;
      }
      if (f.opcode === 0x1) out.texts.push(new TextDecoder().decode(f.payload));
      if (f.opcode === 0x9) {
        out.pings++;
        if (answerPings) await c.ws.sendFrame(0xa, f.payload).catch(() => {});
      }
      if (f.opcode === 0x8) {
        out.code = f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
        out.closedAfterS = Math.round((performance.now() - c.openedAt) / 10) / 100;
        break;
      }
    }
  } finally {
    clearTimeout(giveUp);
    c.sock.close();
  }
  return out;
}

/** The `code` fields of the error messages among `texts`. */
export function errorCodes(texts: readonly string[]): string[] {
  const codes: string[] = [];
  for (const t of texts) {
    try {
      const m = JSON.parse(t);
      if (m.type === "error") codes.push(String(m.code));
    } catch {
      // not JSON: not an error message
    }
  }
  return codes;
}
