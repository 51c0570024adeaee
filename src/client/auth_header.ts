/**
 * How the project's clients send a server token: `Authorization: Bearer`, on WebSocket
 * handshakes and HTTP requests alike, so it never lands in a URL that gets printed or logged.
 */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** The URL as it may be shown: a `?token=` in it is masked. */
export function shownUrl(url: URL): string {
  if (!url.searchParams.has("token")) return url.href;
  const shown = new URL(url.href);
  shown.searchParams.set("token", "***");
  return shown.href;
}
