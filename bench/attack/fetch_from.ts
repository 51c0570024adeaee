/** fetch() from a chosen loopback source address, its connection closed once the body is read. */

export interface FetchResult {
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

/**
 * One request from `source` over a client of its own, closed after the response: no pooled
 * connection stays open to count against the server's fds or per-address caps. Network errors
 * and timeouts come back as status 0 with the error as the body.
 */
export async function fetchFrom(
  source: string,
  url: string,
  init: RequestInit = {},
  timeoutMs = 10_000,
): Promise<FetchResult> {
  const client = Deno.createHttpClient({ localAddress: source });
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, client, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body,
      ms: Math.round(performance.now() - t0),
    };
  } catch (err) {
    return {
      status: 0,
      headers: new Headers(),
      body: String(err),
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    client.close();
  }
}
