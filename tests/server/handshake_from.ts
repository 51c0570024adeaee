/**
 * A WebSocket handshake from a chosen loopback address (127.0.0.2, …), so one test can be
 * several clients: Deno.connect cannot pick its source address, node:net can.
 */
import net from "node:net";

export interface Handshake {
  status: number;
  /** The response head (status line and headers). */
  head: string;
  /** Drops the TCP connection (an accepted stream is then released by the server). */
  close(): void;
}

export async function handshakeFrom(
  localAddress: string,
  port: number,
  path = "/ws",
  headers: Record<string, string> = {},
): Promise<Handshake> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
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
  // Frames the server may send later are not this helper's business.
  socket.on("data", () => {});
  socket.on("error", () => {});
  return {
    status: Number(head.split(" ")[1]),
    head,
    close: () => socket.destroy(),
  };
}
