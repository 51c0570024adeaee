import { fileURLToPath } from "node:url";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
export const CLIP = fileURLToPath(
  new URL("../fixtures/clips/digits_pi.wav", import.meta.url),
);

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts <args>` as its own process, as a user would; `env` adds to the environment. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliOutcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * A scripted WebSocket server on a free port: on EOS it sends `onEos`'s messages; `onOpen` runs
 * once the socket opens (e.g. to send partials, or to close it abnormally).
 */
export function scriptedServer(script: {
  onOpen?: (ws: WebSocket) => void;
  onEos?: (ws: WebSocket) => void;
}): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      if (new URL(req.url).pathname !== "/ws") return new Response("not found", { status: 404 });
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => script.onOpen?.(socket);
      socket.onmessage = (e) => {
        const isEos = typeof e.data === "string"
          ? e.data === CTRL_EOS
          : new TextDecoder().decode(e.data as ArrayBuffer) === CTRL_EOS;
        if (isEos) script.onEos?.(socket);
      };
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
