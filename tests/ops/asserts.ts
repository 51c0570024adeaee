/** The few assertions the operations tests use, on node:assert (JSR's @std/assert is out of reach). */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}
export function assertStringIncludes(actual: string, part: string, msg?: string): void {
  nodeAssert.ok(
    actual.includes(part),
    msg ?? `expected to find ${JSON.stringify(part)} in:\n${actual}`,
  );
}
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  klass: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    nodeAssert.ok(err instanceof klass, `expected ${klass.name}, got ${err}`);
    return err as E;
  }
  throw new Error(`expected a ${klass.name} rejection, none came`);
}
