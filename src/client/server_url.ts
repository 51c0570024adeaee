import { authHeaders } from "./auth_header.ts";
import type { StepKnobs } from "./coverage.ts";

/** The seed's defaults, used when a server does not report its knobs (no `/v1/status`). */
export const SEED_KNOBS: StepKnobs = { stepMs: 240, rightContextMs: 160 };

/** Checks a WebSocket URL: ws:// or wss://, with a host. Throws a message naming the value. */
export function parseWsUrl(value: string, name = "--url"): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `${name} must be a WebSocket URL such as ws://127.0.0.1:8000/ws, got "${value}"`,
    );
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new Error(`${name} must start with ws:// or wss://, got "${value}"`);
  }
  return url;
}

/** The HTTP URL of a route on the same server as a WebSocket URL (ws→http, wss→https). */
export function httpUrlFor(ws: URL, path: string): URL {
  const url = new URL(ws.href);
  url.protocol = ws.protocol === "wss:" ? "https:" : "http:";
  url.pathname = path;
  url.search = "";
  return url;
}

/** What `/v1/status` told us, or why we fell back to the seed's knobs. */
export interface ServerInfo {
  knobs: StepKnobs;
  /** "server" when read from /v1/status, else "default (…reason…)". */
  knobsSource: string;
  status: Record<string, unknown> | null;
}

/**
 * Reads the step geometry from `/v1/status` (needed to tell which audio a partial covers). A
 * seed-style server has no such route: the seed's defaults are used and the reason recorded.
 */
export async function fetchServerInfo(
  ws: URL,
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<ServerInfo> {
  const url = httpUrlFor(ws, "/v1/status");
  try {
    const res = await fetch(url, {
      headers: authHeaders(opts.token),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return {
        knobs: SEED_KNOBS,
        knobsSource: `default (GET ${url} → ${res.status})`,
        status: null,
      };
    }
    const status = await res.json() as Record<string, unknown>;
    const k = status.knobs as Record<string, unknown> | undefined;
    const step = Number(k?.STEP_MS), right = Number(k?.RIGHT_CONTEXT_MS);
    if (!(step > 0) || !(right >= 0)) {
      return { knobs: SEED_KNOBS, knobsSource: `default (no knobs in ${url})`, status };
    }
    return { knobs: { stepMs: step, rightContextMs: right }, knobsSource: "server", status };
  } catch (err) {
    return {
      knobs: SEED_KNOBS,
      knobsSource: `default (GET ${url} failed: ${(err as Error).message})`,
      status: null,
    };
  }
}
