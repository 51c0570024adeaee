/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: the format is small,
 * and the serving path takes no npm package. Families of counters, gauges and histograms know
 * the format (HELP/TYPE lines, label escaping, cumulative histogram buckets) and nothing of what
 * is measured.
 */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values escape `\`, `"` and newline; nothing else (the format says exactly these). */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** HELP text escapes `\` and newline only. */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Go's ParseFloat spellings for the special values; JS's own for the rest (e.g. 1e+21). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return "{" + names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(",") + "}";
}

abstract class Family {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new RangeError(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") {
        throw new RangeError(`invalid label name "${l}" on metric ${name}`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The label values in declaration order; every declared label must be given, no other. */
  protected key(labels: Labels): string[] {
    const given = Object.keys(labels);
    if (
      given.length !== this.labelNames.length || given.some((g) => !this.labelNames.includes(g))
    ) {
      throw new RangeError(
        `metric ${this.name} takes labels {${this.labelNames.join(",")}}, got {${given.join(",")}}`,
      );
    }
    return this.labelNames.map((n) => labels[n]);
  }

  header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract samples(): string;
}

/**
 * The only values a label may take. A label fed from anything a client sends (a close code, a
 * reason) must have one, so no client can add series; values outside it are a bug and throw.
 */
export type LabelValues = Readonly<Record<string, readonly string[]>>;

/** A value per label set; `Counter` only goes up, `Gauge` is set. */
class Scalar extends Family {
  readonly type: "counter" | "gauge";
  #values = new Map<string, { labels: string[]; value: number }>();
  /** A gauge read at scrape time instead of set (e.g. open streams); labelled, a value per label
   * set. */
  #read?: GaugeReader;
  #allowed?: LabelValues;

  constructor(
    type: "counter" | "gauge",
    name: string,
    help: string,
    labelNames: readonly string[],
    read?: GaugeReader,
    allowed?: LabelValues,
  ) {
    super(name, help, labelNames);
    this.type = type;
    this.#read = read;
    this.#allowed = allowed;
    // An unlabelled series exists from the start: a counter at 0 is information, a gap is not.
    if (labelNames.length === 0 && !read) this.#slot({});
    // So does every series of a single closed label.
    if (labelNames.length === 1 && allowed?.[labelNames[0]]) {
      for (const v of allowed[labelNames[0]]) this.#slot({ [labelNames[0]]: v });
    }
  }

  #slot(labels: Labels) {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let slot = this.#values.get(k);
    if (!slot) {
      this.labelNames.forEach((n, i) => {
        const allowed = this.#allowed?.[n];
        if (allowed && !allowed.includes(values[i])) {
          throw new RangeError(
            `metric ${this.name}: label ${n} cannot be "${values[i]}" (one of ${
              allowed.join(", ")
            })`,
          );
        }
      });
      this.#values.set(k, slot = { labels: values, value: 0 });
    }
    return slot;
  }

  inc(by = 1, labels: Labels = {}): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} cannot go up by ${by}`);
    this.#slot(labels).value += by;
  }

  set(value: number, labels: Labels = {}): void {
    if (this.type === "counter") throw new TypeError(`counter ${this.name} cannot be set`);
    this.#slot(labels).value = value;
  }

  get(labels: Labels = {}): number {
    return this.#values.get(JSON.stringify(this.key(labels)))?.value ?? 0;
  }

  samples(): string {
    const read = this.#read?.();
    if (typeof read === "number") return `${this.name} ${formatValue(read)}\n`;
    const series = read?.map(([labels, value]) => ({ labels: this.key(labels), value })) ??
      this.#values.values();
    let out = "";
    for (const { labels, value } of series) {
      out += `${this.name}${labelText(this.labelNames, labels)} ${formatValue(value)}\n`;
    }
    return out;
  }
}

/** An unlabelled gauge's value, or a labelled gauge's value per label set. */
export type GaugeReader = () => number | [Labels, number][];

export type Counter = Scalar;
export type Gauge = Scalar;

export class Histogram extends Family {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  #series = new Map<string, { labels: string[]; counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, buckets: readonly number[], labelNames: string[] = []) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) {
        throw new RangeError(`histogram ${name}: buckets must increase, got ${buckets}`);
      }
    }
    this.buckets = buckets.filter((b) => b !== Infinity);
    if (labelNames.length === 0) this.#seriesFor({});
  }

  #seriesFor(labels: Labels) {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels: values, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    return s;
  }

  observe(value: number, labels: Labels = {}): void {
    const s = this.#seriesFor(labels);
    // Counts per bucket are stored non-cumulatively and summed when written out.
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  samples(): string {
    let out = "";
    const names = [...this.labelNames, "le"];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i];
        out += `${this.name}_bucket${
          labelText(names, [...s.labels, formatValue(b)])
        } ${cumulative}\n`;
      });
      out += `${this.name}_bucket${labelText(names, [...s.labels, "+Inf"])} ${s.count}\n`;
      const plain = labelText(this.labelNames, s.labels);
      out += `${this.name}_sum${plain} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${plain} ${s.count}\n`;
    }
    return out;
  }
}

/** Families in registration order; one name once. */
export class MetricRegistry {
  #families: Family[] = [];

  #add<F extends Family>(f: F): F {
    if (this.#families.some((x) => x.name === f.name)) {
      throw new RangeError(`metric ${f.name} registered twice`);
    }
    this.#families.push(f);
    return f;
  }

  counter(name: string, help: string, labelNames: string[] = [], allowed?: LabelValues): Counter {
    return this.#add(new Scalar("counter", name, help, labelNames, undefined, allowed));
  }

  gauge(name: string, help: string, labelNames: string[] = [], read?: GaugeReader): Gauge {
    return this.#add(new Scalar("gauge", name, help, labelNames, read));
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: string[] = []) {
    return this.#add(new Histogram(name, help, buckets, labelNames));
  }

  render(): string {
    return this.#families.map((f) => f.header() + f.samples()).join("");
  }
}
