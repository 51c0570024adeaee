/**
 * The data path runs one way: no folder of src/ (nor ffi/) imports a folder above it. LAYERS is
 * the single source of truth for the order, top first. A folder may import itself and any
 * folder of a lower rank; folders of the same rank may not import each other. Static imports,
 * re-exports, dynamic `import()` and workers (`new Worker(new URL("…", import.meta.url))`) all
 * count; other URLs (a file to read, a program to spawn) are not imports.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const LAYERS: readonly (readonly string[])[] = [
  // Commands: parse flags, wire the layers below together.
  ["cli"],
  // The benchmarks: load phases, the ramp search, machine and device descriptions, the server
  // process they measure. They drive the streaming client below.
  ["bench"],
  // The streaming client a command (or a benchmark) runs against a server.
  ["client"],
  // HTTP routes, WebSocket connections, limits, metrics.
  ["server"],
  // Beside the server, for it and the commands only: our HTTP/1.1 + WebSocket layer, fetching
  // models from the hub, transcript renderers, the Wyoming protocol listener, OpenAI's Realtime
  // transcription protocol over a stream session.
  ["net", "fetch", "format", "wyoming", "realtime"],
  // Utterance windows, the step plan, the batch scheduler, stream sessions, whole-file decoding.
  ["stream"],
  // The wire protocol's messages and error codes (shared by stream sessions and the server).
  ["protocol"],
  // Batch inference and its worker.
  ["engine"],
  // Model files, config, the ONNX sessions, subsampling geometry.
  ["model"],
  // TDT greedy decoding, vocabulary, words, detokenising.
  ["decode"],
  // Audio files, PCM, log-mel features.
  ["audio"],
  // Files directly in src/ (version.ts): leaves anything may read.
  ["(src)"],
  // The ONNX Runtime C API binding, at the top level of the repository.
  ["ffi"],
];

export interface ImportEdge {
  /** Repository-relative path of the importing file. */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path it resolves to. */
  target: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The layer of a repository-relative path, or null when it is outside src/ and ffi/. */
export function layerOf(path: string): string | null {
  const parts = path.split("/");
  if (parts[0] === "ffi") return "ffi";
  if (parts[0] !== "src") return null;
  return parts.length === 2 ? "(src)" : parts[1];
}

function rankOf(layer: string): number {
  const rank = LAYERS.findIndex((group) => group.includes(layer));
  if (rank < 0) {
    throw new Error(`folder "${layer}" is not in LAYERS (tests/layering_test.ts): place it there`);
  }
  return rank;
}

/** Relative specifiers a TypeScript source imports (or starts as a worker). */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/g,
    /(?:^|\n)\s*import\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /new Worker\(\s*new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) if (m[1].startsWith(".")) found.push(m[1]);
  }
  return found;
}

/** Every relative import of every .ts file under src/ and ffi/. */
export function importEdges(root = ROOT): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const file = relative(root, path);
        for (const specifier of importSpecifiers(Deno.readTextFileSync(path))) {
          edges.push({
            file,
            specifier,
            target: relative(root, resolve(dirname(path), specifier)),
          });
        }
      }
    }
  };
  walk(join(root, "src"));
  walk(join(root, "ffi"));
  return edges;
}

/** The edges that go up (or sideways between folders of one rank), as readable lines. */
export function backEdges(edges: readonly ImportEdge[]): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.file);
    const to = layerOf(e.target);
    if (from === null) continue;
    if (to === null) {
      bad.push(`${e.file} imports ${e.specifier}, outside src/ and ffi/`);
      continue;
    }
    if (from === to) continue;
    if (rankOf(to) <= rankOf(from)) {
      bad.push(`${e.file} (${from}/) imports ${e.target} (${to}/), which is not below it`);
    }
  }
  return bad;
}

Deno.test("layering: no folder of src/ or ffi/ imports a folder above it (LAYERS)", () => {
  const edges = importEdges();
  assert.ok(edges.length > 100, `only ${edges.length} imports found: the scan is broken`);
  assert.deepEqual(backEdges(edges), []);
});

Deno.test("layering: every folder of src/ is placed in LAYERS", () => {
  for (const entry of Deno.readDirSync(join(ROOT, "src"))) {
    if (entry.isDirectory) rankOf(entry.name);
  }
});

Deno.test("layering: the check catches an upward import, a sibling import and a worker URL", () => {
  const specs = importSpecifiers(`import type {
  A,
} from "../server/protocol.ts";
export { b } from "./b.ts";
const w = new Worker(new URL("../cli/x.ts", import.meta.url), { type: "module" });
const m = await import("../engine/y.ts");
const spawned = new URL("../../main.ts", import.meta.url);
import { c } from "jsr:@std/c";`);
  assert.deepEqual(specs.sort(), [
    "../cli/x.ts",
    "../engine/y.ts",
    "../server/protocol.ts",
    "./b.ts",
  ]);
  const edge = (file: string, target: string): ImportEdge => ({ file, specifier: target, target });
  assert.deepEqual(
    backEdges([
      edge("src/stream/stream_session.ts", "src/server/protocol.ts"),
      edge("src/fetch/x.ts", "src/net/y.ts"),
      edge("src/engine/e.ts", "src/stream/u.ts"),
      edge("ffi/session.ts", "src/version.ts"),
      // Allowed: down, and within a folder.
      edge("src/server/s.ts", "src/protocol/protocol.ts"),
      edge("src/stream/a.ts", "src/stream/b.ts"),
      edge("src/model/m.ts", "ffi/mod.ts"),
      edge("src/server/metrics.ts", "src/version.ts"),
    ]).length,
    4,
  );
});

Deno.test("docs/architecture.md gives the layers in LAYERS' order", () => {
  const page = Deno.readTextFileSync(join(ROOT, "docs/architecture.md"));
  const name = (folder: string) =>
    folder === "(src)" ? "`src/` root" : folder === "ffi" ? "`ffi/`" : folder;
  const expected = LAYERS.map((rank) => rank.map(name).join(", ")).join(" → ") + ".";
  const start = page.indexOf("\ncli → ");
  assert.ok(start >= 0, "docs/architecture.md has no layer line starting with `cli →`");
  const line = page.slice(start + 1, page.indexOf("\n\n", start + 1)).replace(/\s*\n\s*/g, " ");
  assert.equal(line, expected);
});
