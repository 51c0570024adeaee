import assert from "node:assert/strict";
import { clientAddress, parseTrustedProxies } from "../../src/server/client_address.ts";

Deno.test("clientAddress: the connection's address unless a trusted proxy forwarded the request", () => {
  const none = parseTrustedProxies(null);
  assert.equal(clientAddress("203.0.113.9", "198.51.100.1", none), "203.0.113.9", "not trusted");
  assert.equal(clientAddress("::ffff:127.0.0.1", null, none), "127.0.0.1", "IPv4 on dual stack");

  const proxies = parseTrustedProxies(" 127.0.0.1 , ::1,10.0.0.2");
  assert.deepEqual([...proxies], ["127.0.0.1", "::1", "10.0.0.2"]);
  assert.equal(clientAddress("127.0.0.1", "198.51.100.7", proxies), "198.51.100.7");
  assert.equal(clientAddress("::ffff:127.0.0.1", "198.51.100.7", proxies), "198.51.100.7");
  assert.equal(clientAddress("127.0.0.1", null, proxies), "127.0.0.1", "no header: the proxy");
  // A client's own X-Forwarded-For sits left of what our proxy appended: never believed.
  assert.equal(clientAddress("127.0.0.1", "1.2.3.4, 198.51.100.7", proxies), "198.51.100.7");
  // Two proxies of ours in a row: the first address neither of them is.
  assert.equal(clientAddress("127.0.0.1", "198.51.100.7, 10.0.0.2", proxies), "198.51.100.7");
  assert.equal(clientAddress("127.0.0.1", "2001:DB8::5", proxies), "2001:db8::5");
  assert.equal(clientAddress("127.0.0.1", "garbage", proxies), "127.0.0.1", "unreadable");
  assert.equal(clientAddress("127.0.0.1", "10.0.0.2", proxies), "127.0.0.1", "all ours");
  const huge = Array.from({ length: 100_000 }, (_, i) => `10.${i % 250}.0.1`).join(",");
  assert.equal(clientAddress("127.0.0.1", huge, proxies), "10.249.0.1", "only the last hops read");
});

Deno.test("TRUSTED_PROXIES: anything but IP addresses is refused, naming the knob", () => {
  for (const bad of ["localhost", "10.0.0.0/8", "127.0.0.1:80", "*"]) {
    assert.throws(
      () => parseTrustedProxies(bad),
      new RegExp(`TRUSTED_PROXIES: "${bad.replaceAll(".", "\\.").replaceAll("*", "\\*")}" is not`),
    );
  }
});
