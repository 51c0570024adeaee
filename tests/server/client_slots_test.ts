import assert from "node:assert/strict";
import { ClientSlots } from "../../src/server/client_slots.ts";

Deno.test("ClientSlots: a cap per address, other addresses unaffected, entries gone at zero", () => {
  const slots = new ClientSlots(2);
  assert.equal(slots.tryAcquire("10.0.0.1"), true);
  assert.equal(slots.tryAcquire("10.0.0.1"), true);
  assert.equal(slots.tryAcquire("10.0.0.1"), false, "the third from one address");
  assert.equal(slots.tryAcquire("10.0.0.2"), true, "another address still gets in");
  assert.equal(slots.held("10.0.0.1"), 2);
  slots.release("10.0.0.1");
  assert.equal(slots.tryAcquire("10.0.0.1"), true, "a released slot can be taken again");
  for (const a of ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) slots.release(a);
  assert.equal(slots.clients, 0, "no entry outlives its last stream");
  slots.release("10.0.0.9");
  assert.equal(slots.clients, 0, "a stray release never goes negative");
});
