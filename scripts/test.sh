#!/usr/bin/env bash
# The test command: every Deno test under tests/, then one plain "N passed, N failed" line
# (Deno's own summary is not in a form CI reads). Extra arguments go to `deno test`
# (e.g. a path or --filter).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
deno_bin=$(command -v deno || true)
[ -x "$root/.tools/bin/deno" ] && deno_bin="$root/.tools/bin/deno"
[ -n "$deno_bin" ] || { echo "deno not found: run bash scripts/setup.sh" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(tests/)
NO_COLOR=1 "$deno_bin" test --allow-all --v8-flags=--expose-gc "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Deno ends with "ok | 12 passed (3 steps) | 0 failed | 2 ignored (…)" or "FAILED | …".
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n1)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
if [ -z "$summary" ]; then
  # No summary means the run died before reporting (type error, crash): nothing passed.
  passed=0
  failed=1
fi
line="${passed:-0} passed, ${failed:-0} failed"
[ -n "$ignored" ] && [ "$ignored" != 0 ] && line="$line, $ignored skipped"
echo "$line"
exit "$status"
