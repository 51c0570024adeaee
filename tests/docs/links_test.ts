/**
 * The manual's links hold: every relative link in README.md and docs/*.md names a file or
 * folder of the repository, and a link to a heading of a markdown page names a heading that
 * page has (GitHub's anchors). README.md stays a short path for users; the reference lives in
 * docs/.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const README_MAX_LINES = 250;

function pages(): string[] {
  const docs = [...Deno.readDirSync(new URL("docs/", root))]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** The page without fenced code blocks, where `#` and brackets are not markdown. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** The page without code of any kind, where brackets are not links. */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, "");
}

/** Inline links and images: `[text](target)` and `![alt](target)`. */
export function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = headingAnchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

Deno.test("README.md is at most 250 lines", () => {
  const lines = Deno.readTextFileSync(new URL("README.md", root)).split("\n").length - 1;
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
});

Deno.test("every relative link in README.md and docs/*.md names what exists", () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const pageUrl = new URL(page, root);
    const text = Deno.readTextFileSync(pageUrl);
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
      const [path, anchor] = target.split("#");
      const file = path === "" ? pageUrl : new URL(decodeURIComponent(path), pageUrl);
      if (!exists(file)) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && file.pathname.endsWith(".md")) {
        const anchors = anchorsOf(Deno.readTextFileSync(file));
        if (!anchors.has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

/** Code spans that are a repository path and nothing else, e.g. `src/stream/step_plan.ts`. */
export function pathSpans(markdown: string): string[] {
  const path = /^(?:src|ffi|scripts|tests|bench|deploy|docker|models|web|docs)\/[\w./-]+$/;
  return [...withoutFences(markdown).matchAll(/`([^`\n]+)`/g)]
    .map((m) => m[1])
    .filter((span) => path.test(span));
}

Deno.test("every file the manual names as a code path exists", () => {
  const missing: string[] = [];
  for (const page of pages()) {
    const text = Deno.readTextFileSync(new URL(page, root));
    for (const path of pathSpans(text)) {
      if (!exists(new URL(path, root))) missing.push(`${page}: ${path}`);
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("headings get GitHub's anchors, duplicates numbered", () => {
  assert.equal(
    headingAnchor("`scripts/main.sh`: the one command"),
    "scriptsmainsh-the-one-command",
  );
  assert.equal(
    headingAnchor("Memory: what sets the server's RSS"),
    "memory-what-sets-the-servers-rss",
  );
  assert.deepEqual([...anchorsOf("# A\n\n## A\n\n```\n# not a heading\n```\n")], ["a", "a-1"]);
  assert.deepEqual(linkTargets("[a](x.md) `[b](y.md)` ![c](d.png#e)"), ["x.md", "d.png#e"]);
  assert.deepEqual(
    pathSpans("`src/a.ts` and `deno test tests/b_test.ts` and `bench/r-*.json`"),
    ["src/a.ts"],
  );
});
