import assert from "node:assert/strict";
import { ConnectionTable, effectiveConnectionCap } from "../../src/net/connection_table.ts";

Deno.test("the total cap and the per-address cap refuse by name; a release frees a slot", () => {
  const t = new ConnectionTable(3, 2);
  assert.equal(t.admit("a"), null);
  assert.equal(t.admit("a"), null);
  assert.equal(t.admit("a"), "max_connections_per_client");
  assert.equal(t.admit("b"), null);
  assert.equal(t.admit("c"), "max_connections");
  t.release("a");
  assert.equal(t.openFrom("a"), 1);
  assert.equal(t.admit("c"), null);
  assert.equal(t.open, 3);
  t.release("zzz"); // never admitted: no effect
  assert.equal(t.open, 3);
});

Deno.test("the connection cap stays well below the open-file limit", () => {
  assert.equal(effectiveConnectionCap(1024, 1024), 768);
  assert.equal(effectiveConnectionCap(1024, 128), 64);
  assert.equal(effectiveConnectionCap(1024, 64), 32);
  assert.equal(effectiveConnectionCap(100, 1_048_576), 100);
  assert.equal(effectiveConnectionCap(1024, Infinity), 1024);
  assert.equal(effectiveConnectionCap(1024, 10), 5);
});
