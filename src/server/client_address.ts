/**
 * Which client a request is from: the connection's address, or — when that is a proxy the
 * operator trusts (`TRUSTED_PROXIES`) — the address that proxy saw, from `X-Forwarded-For`.
 * Behind a proxy every connection has the proxy's address, so per-client limits would otherwise
 * treat all clients as one.
 */
import { ConfigError } from "./config.ts";

/**
 * IPv4 dotted quads, or IPv6 (hex groups with at least two colons, an IPv4 tail allowed); no
 * ports, no zone ids. Loose on purpose: it tells addresses from names and junk, no more.
 */
const IP = /^(?:\d{1,3}(?:\.\d{1,3}){3}|(?=[0-9a-f.]*:[0-9a-f.]*:)[0-9a-f:.]{2,45})$/i;

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) is 127.0.0.1. */
function canonical(address: string): string {
  const a = address.trim().toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

export function parseTrustedProxies(value: string | null): ReadonlySet<string> {
  const proxies = new Set<string>();
  for (const raw of (value ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (!IP.test(entry)) {
      throw new ConfigError(
        `TRUSTED_PROXIES: "${entry}" is not an IP address; expected a comma list such as 127.0.0.1,::1`,
      );
    }
    proxies.add(canonical(entry));
  }
  return proxies;
}

/** Entries of X-Forwarded-For looked at, from the right: a client cannot make us parse more. */
const MAX_HOPS = 16;

/**
 * The client's address. A trusted proxy appends the address it saw to `X-Forwarded-For`, so
 * the list is read from the right, past our own trusted proxies; what a client wrote further
 * left is never believed. Anything unreadable falls back to the connection's address.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | null,
  trusted: ReadonlySet<string>,
): string {
  const connection = canonical(peer);
  if (forwardedFor === null || !trusted.has(connection)) return connection;
  const hops = forwardedFor.slice(-MAX_HOPS * 46).split(",").slice(-MAX_HOPS).reverse();
  for (const hop of hops) {
    const address = canonical(hop);
    if (!IP.test(address)) return connection;
    if (!trusted.has(address)) return address;
  }
  return connection;
}
