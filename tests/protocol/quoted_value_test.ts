/** How a client's value is quoted in a refusal (src/protocol/quoted_value.ts). */
import assert from "node:assert/strict";
import { quotedValue } from "../../src/protocol/quoted_value.ts";

Deno.test("quoted value: scalars as JSON, objects and arrays by their brackets alone", () => {
  assert.equal(quotedValue("pcm"), '"pcm"');
  assert.equal(quotedValue(16000.5), "16000.5");
  assert.equal(quotedValue(null), "null");
  assert.equal(quotedValue(undefined), "undefined");
  assert.equal(quotedValue({ toString: 1 }), "{…}", "a client's toString is never run");
  assert.equal(quotedValue([1, 2]), "[…]");
});

Deno.test("quoted value: a nest deeper than the stack is quoted without recursing", () => {
  let nest: unknown = 0;
  for (let i = 0; i < 20_000; i++) nest = { "0": 0, nest: [nest] };
  assert.throws(() => JSON.stringify(nest), RangeError, "the nest overflows JSON.stringify");
  assert.equal(quotedValue(nest), "{…}");
});

Deno.test("quoted value: a long string is cut, so a refusal stays small", () => {
  const quoted = quotedValue("x".repeat(1_400_000));
  assert.equal(quoted, `"${"x".repeat(60)}"…`);
  assert.equal(quotedValue("y".repeat(10), 4), '"yyyy"…');
});
