/**
 * The server side of the WebSocket opening handshake (RFC 6455 §4.2), pure: which requests are
 * upgrades we accept, and the `Sec-WebSocket-Accept` answer. A bad handshake is a 400 with a
 * reason, never an exception.
 */
import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export type HandshakeCheck = { ok: true; key: string } | { ok: false; reason: string };

function tokens(value: string | null): string[] {
  return (value ?? "").toLowerCase().split(",").map((t) => t.trim());
}

export function checkHandshake(method: string, headers: Headers): HandshakeCheck {
  if (method !== "GET") return { ok: false, reason: "a WebSocket handshake must be a GET" };
  if (!tokens(headers.get("upgrade")).includes("websocket")) {
    return { ok: false, reason: "missing Upgrade: websocket" };
  }
  if (!tokens(headers.get("connection")).includes("upgrade")) {
    return { ok: false, reason: "missing Connection: Upgrade" };
  }
  if (headers.get("sec-websocket-version")?.trim() !== "13") {
    return { ok: false, reason: "Sec-WebSocket-Version must be 13" };
  }
  const key = headers.get("sec-websocket-key")?.trim() ?? "";
  // 16 random bytes in base64: 22 characters and "==".
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { ok: false, reason: "missing or malformed Sec-WebSocket-Key" };
  }
  return { ok: true, key };
}

export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}
