/**
 * Seeded mutation of JSON messages by their structure, beside the byte mutations of
 * `mutator.ts`: a node of a valid message replaced by a value of the wrong type, a boundary
 * number, a number-like string, a very long string, deep nesting, an object with its own
 * `toString` or `__proto__`; a field dropped; an unknown field added. Numbers JSON cannot write
 * as values (1e309, -0, 2^53 + 1) and text that is not JSON at all (NaN, a trailing comma) go in
 * as raw tokens, so the parser sees them as a client would send them.
 */
import { type Rng, seededRng } from "./mutator.ts";

/** Text written as it is in place of a value. */
class Raw {
  constructor(readonly text: string) {}
}

/**
 * A nest of arrays or objects `depth` deep, as text (a value no serializer recursion builds).
 * Objects are keyed "a" or "0": V8's JSON.stringify recurses into objects with index keys.
 */
function deep(rng: Rng, depth: number): Raw {
  switch (rng.int(4)) {
    case 0:
      return new Raw("[".repeat(depth) + "]".repeat(depth));
    case 1:
      return new Raw('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
    case 2:
      return new Raw('{"0":'.repeat(depth) + "1" + "}".repeat(depth));
    default:
      return new Raw('{"0":0,"nest":' + "[".repeat(depth) + "]".repeat(depth) + "}");
  }
}

/** A JSON object with the given own fields, `__proto__` among them if asked (as JSON.parse makes). */
function own(
  fields: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  const out = { ...fields };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A value of the wrong type or on an edge. */
export function weirdValue(rng: Rng): unknown {
  // Deep nests more often than the rest: the one value that breaks recursive code.
  if (rng.int(20) === 0) return deep(rng, 1000 + rng.int(20_000));
  switch (rng.int(34)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return rng.pick([0, 1, -1, 2, 3, 7, 8, 9, 255, 256, 65535, 65536]);
    case 3:
      return rng.pick([
        2 ** 31 - 1,
        2 ** 31,
        2 ** 32 - 1,
        2 ** 32,
        -(2 ** 31),
        2 ** 53 - 1,
        2 ** 53,
      ]);
    case 4:
      return rng.pick([0.5, 1.5, -0.5, 1e-7, 3.14159, 16000.5, 1e21, -1e21, 1e308, -1e308]);
    case 5:
      return new Raw(rng.pick(["1e309", "-1e309", "-0", "9007199254740993", "1E2", "0.0", "1.0"]));
    case 6:
      return new Raw(rng.pick(["NaN", "Infinity", "-Infinity", "undefined", "0x10", "01", "+1"]));
    case 7:
      return rng.pick(["NaN", "Infinity", "-Infinity", "1e309", "0x10", " 16000 ", "16000", "-0"]);
    case 8:
      return rng.pick(["", " ", "\u0000", "\ud800", "\udfff", "é", "\u2028", "😀", "\\", '"']);
    case 9:
      return "a".repeat(1 + rng.int(4096));
    case 10:
      return "é😀".repeat(1 + rng.int(1024));
    case 11:
      return [];
    case 12:
      return {};
    case 13:
      return [1, "2", null, {}];
    case 14:
      return deep(rng, 1 + rng.int(64));
    case 15:
      return deep(rng, 1000 + rng.int(20_000));
    case 16:
      return { toString: 1 };
    case 17:
      return { toString: null, valueOf: null };
    case 18:
      return [{ toString: 1 }];
    case 19:
      return own({}, "__proto__", { toString: 1, valueOf: 1 });
    case 20:
      return own({}, "__proto__", null);
    case 21:
      return { constructor: 1, hasOwnProperty: 1 };
    case 22:
      return new Raw("[1,]");
    case 23:
      return new Raw("{");
    case 24:
      return new Raw('"unterminated');
    case 25:
      return new Raw("'single'");
    case 26:
      return new Raw('"\\ud800"');
    case 27:
      return new Raw('"\\u0000"');
    case 28:
      return "__proto__";
    case 29:
      return "toString";
    case 30:
      return "constructor";
    case 31:
      return Array.from({ length: 1 + rng.int(2000) }, (_, i) => i);
    case 32:
      return { length: 2 ** 32, 0: 1 };
    default:
      return rng.pick(["true", "false", "null", "[]", "{}"]);
  }
}

const UNKNOWN_KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "prototype",
  "",
  " ",
  "x",
  "type",
  "data",
  "length",
  "\u0000",
  "k".repeat(300),
];

interface Slot {
  parent: Record<string, unknown> | unknown[] | null;
  key: string | number;
  value: unknown;
}

function slots(root: unknown): Slot[] {
  const out: Slot[] = [{ parent: null, key: "", value: root }];
  const walk = (v: unknown, depth: number) => {
    if (depth > 16 || v === null || typeof v !== "object" || v instanceof Raw) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        out.push({ parent: v, key: i, value: item });
        walk(item, depth + 1);
      });
    } else {
      for (const k of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[k];
        out.push({ parent: v as Record<string, unknown>, key: k, value: item });
        walk(item, depth + 1);
      }
    }
  };
  walk(root, 0);
  return out;
}

function set(slot: Slot, value: unknown): void {
  if (slot.parent === null) return;
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else {
    Object.defineProperty(slot.parent, slot.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

/** A number near `n`: off by one, doubled, negated, fractional, scaled up. */
function nearNumber(rng: Rng, n: number): unknown {
  switch (rng.int(7)) {
    case 0:
      return n + 1;
    case 1:
      return n - 1;
    case 2:
      return n * 2;
    case 3:
      return -n;
    case 4:
      return n + 0.5;
    case 5:
      return n * 1000;
    default:
      return String(n);
  }
}

/**
 * 1 to 3 structural mutations of the JSON value in `text` (which must parse), written back as
 * text. The root itself may be replaced.
 */
export function mutateJson(rng: Rng, text: string): string {
  let root: unknown = JSON.parse(text);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const all = slots(root);
    const slot = rng.pick(all);
    const replace = (value: unknown) => {
      if (slot.parent === null) root = value;
      else set(slot, value);
    };
    switch (rng.int(6)) {
      case 0:
      case 1:
        replace(weirdValue(rng));
        break;
      case 2: // a field dropped
        if (slot.parent === null) break;
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete slot.parent[slot.key as string];
        break;
      case 3: { // an unknown field added (or a known one repeated) to an object on the path
        const objects = all.filter((s) =>
          s.value !== null && typeof s.value === "object" && !Array.isArray(s.value) &&
          !(s.value instanceof Raw)
        );
        if (objects.length === 0) break;
        const target = rng.pick(objects).value as Record<string, unknown>;
        Object.defineProperty(target, rng.pick(UNKNOWN_KEYS), {
          value: weirdValue(rng),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        break;
      }
      case 4:
        if (typeof slot.value === "number") replace(nearNumber(rng, slot.value));
        else if (typeof slot.value === "string") {
          replace(rng.pick([slot.value.toUpperCase(), ` ${slot.value}`, slot.value + "\u0000"]));
        } else replace(weirdValue(rng));
        break;
      default: // wrapped one level deeper
        replace(rng.next() < 0.5 ? [slot.value] : { value: slot.value });
    }
  }
  return toJsonText(root);
}

/**
 * JSON text of a value holding raw tokens; own `__proto__` keys are written as keys. Below the
 * depth mutations reach (`slots`), `flatJsonText` writes the rest without recursing, so a nest
 * parsed from an earlier mutation cannot overflow the stack here.
 */
export function toJsonText(value: unknown, depth = 0): string {
  if (value instanceof Raw) return value.text;
  if (depth > 32) return flatJsonText(value);
  if (Array.isArray(value)) {
    return "[" + value.map((v) => toJsonText(v, depth + 1)).join(",") + "]";
  }
  if (value !== null && typeof value === "object") {
    const fields = Object.keys(value).map((k) =>
      JSON.stringify(k) + ":" + toJsonText((value as Record<string, unknown>)[k], depth + 1)
    );
    return "{" + fields.join(",") + "}";
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Runs `check` on `cases` inputs made by `make` under `seed`; a throw is rethrown naming the
 * case and the input's start, so the failure can be rebuilt from the seed.
 */
export async function fuzzStructured<T>(
  opts: { seed: number; cases: number; make: (rng: Rng) => T; show?: (input: T) => string },
  check: (input: T, rng: Rng) => void | Promise<void>,
): Promise<void> {
  const rng = seededRng(opts.seed);
  for (let i = 0; i < opts.cases; i++) {
    const input = opts.make(rng);
    try {
      await check(input, rng);
    } catch (err) {
      const shown = (opts.show ?? ((x: T) => String(x)))(input);
      throw new Error(
        `structured fuzz seed ${opts.seed}, case ${i} (${shown.length} chars, starting ${
          JSON.stringify(shown.slice(0, 200))
        }): ${(err as Error).stack ?? err}`,
      );
    }
  }
}

/** A piece of text already written, on the serializer's stack. */
class Piece {
  constructor(readonly text: string) {}
}

/**
 * JSON text of a parsed value without recursion, to compare results that hold client data
 * nested thousands deep: node's deep-equal recurses, and so does JSON.stringify once an object
 * has an index key ({"0": …}), both overflowing the stack. Uint8Arrays are written as arrays.
 */
export function flatJsonText(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Piece) {
      out.push(v.text);
    } else if (Array.isArray(v) || v instanceof Uint8Array) {
      stack.push(new Piece("]"));
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push(v[i]);
        if (i > 0) stack.push(new Piece(","));
      }
      stack.push(new Piece("["));
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      stack.push(new Piece("}"));
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((v as Record<string, unknown>)[keys[i]]);
        stack.push(new Piece((i > 0 ? "," : "") + JSON.stringify(keys[i]) + ":"));
      }
      stack.push(new Piece("{"));
    } else {
      out.push(v === undefined ? "undefined" : JSON.stringify(v));
    }
  }
  return out.join("");
}
