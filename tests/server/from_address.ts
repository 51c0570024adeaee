/**
 * HTTP requests and WebSocket handshakes from a chosen loopback address (127.0.0.2, …), so one
 * test can be several clients: Deno.connect cannot pick its source address, node:net can.
 */
import net from "node:net";

export interface RawExchange {
  status: number;
  /** The response head: status line and headers, lower-cased names as sent. */
  head: string;
  header(name: string): string | null;
  /** Drops the TCP connection (an accepted stream is then released by the server). */
  close(): void;
}

/** Sends `request` (a whole HTTP/1.1 request head, and body if any) and reads the response head. */
export async function requestFrom(
  localAddress: string,
  port: number,
  request: string,
): Promise<RawExchange> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(request);
  const head = await new Promise<string>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        socket.off("data", onData);
        resolve(text.slice(0, end));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => resolve(text));
  });
  // What the server sends later (a body, frames) is not this helper's business.
  socket.on("data", () => {});
  socket.on("error", () => {});
  return {
    status: Number(head.split(" ")[1]),
    head,
    header: (name) => {
      const line = head.split("\r\n").find((l) =>
        l.toLowerCase().startsWith(name.toLowerCase() + ":")
      );
      return line === undefined ? null : line.slice(line.indexOf(":") + 1).trim();
    },
    close: () => socket.destroy(),
  };
}

export function handshakeFrom(
  localAddress: string,
  port: number,
  path = "/ws",
  headers: Record<string, string> = {},
): Promise<RawExchange> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return requestFrom(
    localAddress,
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
}
