/** Runs the Python `prometheus_client` parser over exposition text (see parse_metrics.py). */
import { ROOT } from "../engine/fixtures.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const PARSER = `${ROOT}tests/metrics/parse_metrics.py`;

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number | string;
}

export interface ParsedFamily {
  type: string;
  documentation: string;
  samples: ParsedSample[];
}

export function parserAvailable(): boolean {
  try {
    return new Deno.Command(PYTHON, {
      args: ["-c", "import prometheus_client.parser"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

export const SKIP_MESSAGE =
  "Prometheus parser tests skipped: need prometheus_client in .tools/venv-check (bash tests/reference/setup_check_env.sh)";

/** The families keyed by name (counters lose their `_total`, as the parser names them). */
export async function parseExposition(text: string): Promise<Record<string, ParsedFamily>> {
  const child = new Deno.Command(PYTHON, {
    args: [PARSER],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `prometheus_client rejected the exposition: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The value of the one sample with this name and exactly these labels (0 when absent). */
export function sampleValue(
  families: Record<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  for (const f of Object.values(families)) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (
        keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])
      ) {
        return typeof s.value === "number" ? s.value : Number(s.value.replace("+Inf", "Infinity"));
      }
    }
  }
  return 0;
}
