import assert from "node:assert/strict";
import { DRAINED, DrainWatch } from "../../src/server/drain_watch.ts";

Deno.test("DrainWatch: the server's abort reaches the request's signal and settles drained", async () => {
  const server = new AbortController();
  using watch = new DrainWatch(server.signal);
  assert.equal(watch.signal.aborted, false);
  server.abort();
  assert.equal(watch.signal.aborted, true);
  assert.equal(await watch.drained, DRAINED);
});

Deno.test("DrainWatch: a drain already started is seen at once", async () => {
  const server = new AbortController();
  server.abort();
  using watch = new DrainWatch(server.signal);
  assert.equal(watch.signal.aborted, true);
  assert.equal(await watch.drained, DRAINED);
});

Deno.test("DrainWatch: once disposed, a request leaves nothing on the server's signal", () => {
  const server = new AbortController();
  let added = 0;
  let removed = 0;
  const signal = server.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    added++;
    add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    removed++;
    remove(...args);
  }) as typeof signal.removeEventListener;
  for (let i = 0; i < 100; i++) {
    using watch = new DrainWatch(signal);
    assert.equal(watch.signal.aborted, false);
  }
  assert.equal(added, 100);
  assert.equal(removed, 100);
  server.abort();
});

Deno.test("DrainWatch without a server signal never drains", async () => {
  using watch = new DrainWatch(undefined);
  const winner = await Promise.race([watch.drained, Promise.resolve("not drained")]);
  assert.equal(winner, "not drained");
});
