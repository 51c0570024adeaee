/**
 * A WebSocket client written on a bare TCP socket, for clients no library would be: one that
 * stops reading, one that never answers a close, one that sends malformed frames.
 */

/** The byte stream a raw client runs over: a Deno TCP connection, or any socket shaped like one. */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** A refused upgrade: the HTTP status and its status line. */
export interface UpgradeRefusal {
  status: number;
  statusLine: string;
}

export class RawWebSocket {
  readonly conn: ByteConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: ByteConn) {
    this.conn = conn;
  }

  /** Connects and completes the handshake; returns the HTTP status line on refusal. */
  static async open(port: number, path = "/ws"): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const ws = await RawWebSocket.handshake(conn, port, path);
    if (ws instanceof RawWebSocket) return ws;
    throw new Error(`upgrade refused: ${ws.statusLine}`);
  }

  /**
   * Sends the upgrade request over `conn` (with `headers` added) and reads the answer: the open
   * socket, or the refusal (the connection is then closed).
   */
  static async handshake(
    conn: ByteConn,
    port: number,
    path = "/ws",
    headers: Record<string, string> = {},
  ): Promise<RawWebSocket | UpgradeRefusal> {
    const ws = new RawWebSocket(conn);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await ws.writeRaw(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `${extra}\r\n`,
    ));
    const head = await ws.#readUntil("\r\n\r\n");
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      const statusLine = head.split("\r\n")[0];
      return { status: Number(statusLine.split(" ")[1] ?? 0), statusLine };
    }
    return ws;
  }

  /** Writes bytes as they are: frame pieces, or a payload after a header sent alone. */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  async #readUntil(marker: string): Promise<string> {
    for (;;) {
      const text = new TextDecoder().decode(this.#buffer);
      const at = text.indexOf(marker);
      if (at >= 0) {
        const bytes = new TextEncoder().encode(text.slice(0, at + marker.length)).length;
        this.#buffer = this.#buffer.slice(bytes);
        return text.slice(0, at);
      }
      if (!(await this.#fill())) throw new Error("connection closed during the handshake");
    }
  }

  /** Sends one frame (masked, as a client must). `length` may lie about the payload size. */
  async sendFrame(
    opcode: number,
    payload: Uint8Array,
    opts: { fin?: boolean; rsv?: number; length?: number; zeroMask?: boolean } = {},
  ): Promise<void> {
    const len = opts.length ?? payload.length;
    const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
    if (len < 126) head.push(0x80 | len);
    else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 255);
    else {
      head.push(0x80 | 127);
      const big = new DataView(new ArrayBuffer(8));
      big.setBigUint64(0, BigInt(len));
      head.push(...new Uint8Array(big.buffer));
    }
    // A zero mask key is legal and leaves the payload as it is: no copy of a large payload.
    const mask = opts.zeroMask ? new Uint8Array(4) : crypto.getRandomValues(new Uint8Array(4));
    const body = opts.zeroMask ? payload : payload.map((b, i) => b ^ mask[i & 3]);
    const frame = new Uint8Array(head.length + 4 + body.length);
    frame.set(head);
    frame.set(mask, head.length);
    frame.set(body, head.length + 4);
    await this.writeRaw(frame);
  }

  sendBinary(bytes: Uint8Array): Promise<void> {
    return this.sendFrame(0x2, bytes);
  }

  sendText(text: string): Promise<void> {
    return this.sendFrame(0x1, new TextEncoder().encode(text));
  }

  /** Reads one server frame (servers do not mask); null when the connection ends. */
  async readFrame(): Promise<{ opcode: number; payload: Uint8Array } | null> {
    for (;;) {
      const b = this.#buffer;
      if (b.length >= 2) {
        let len = b[1] & 0x7f;
        let off = 2;
        if (len === 126 && b.length >= 4) {
          len = (b[2] << 8) | b[3];
          off = 4;
        } else if (len === 127 && b.length >= 10) {
          len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
          off = 10;
        }
        if (len < 126 || off > 2) {
          if (b.length >= off + len) {
            const frame = { opcode: b[0] & 0x0f, payload: b.slice(off, off + len) };
            this.#buffer = b.slice(off + len);
            return frame;
          }
        }
      }
      try {
        if (!(await this.#fill())) return null;
      } catch {
        return null;
      }
    }
  }

  /** Reads frames until a close frame (its code) or the end of the connection (null). */
  async readUntilClose(): Promise<{ code: number | null; texts: string[] }> {
    const texts: string[] = [];
    for (;;) {
      const f = await this.readFrame();
      if (!f) return { code: null, texts };
      if (f.opcode === 0x1) texts.push(new TextDecoder().decode(f.payload));
      if (f.opcode === 0x8) {
        const code = f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
        return { code, texts };
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
