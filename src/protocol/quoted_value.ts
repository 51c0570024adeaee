/**
 * A client's value as an error message quotes it back: JSON for a string, number, boolean or
 * null, cut to `maxChars`; an object or array by its brackets alone. String() of an object runs
 * a "toString" the client sent (a number, so it throws), and String() or JSON.stringify of one
 * nested a few thousand deep (V8's JSON.stringify recurses once an object has an index key like
 * "0") overflows the stack. The cut keeps a refusal the size of a refusal, not of the event.
 */
export function quotedValue(value: unknown, maxChars = 60): string {
  if (Array.isArray(value)) return "[…]";
  if (typeof value === "object" && value !== null) return "{…}";
  if (typeof value === "string" && value.length > maxChars) {
    return `${JSON.stringify(value.slice(0, maxChars))}…`;
  }
  return JSON.stringify(value) ?? "undefined";
}
