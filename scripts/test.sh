#!/usr/bin/env bash
# The test command, in two tiers, then one plain "N passed, N failed" line (Deno's own summary
# is not in a form CI reads).
#   bash scripts/test.sh          the fast tier (`deno task test`): every test under tests/ but
#                                 the SLOW ones below — unit and in-process integration tests
#   bash scripts/test.sh --all    every test under tests/ and the lab's under lab/tests/
#                                 (`deno task test:all`; CI runs this)
#   bash scripts/test.sh --slow   only the SLOW ones (the lab's among them)
# Other arguments go to `deno test` in place of the tier's selection (e.g. a path or --filter).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

# The slow tier: the only place tier membership is written. Left out of the fast tier: the
# browser demo (chromium), the tests that need the NeMo or onnx-asr Python environments, the
# soak and attack harness, and the ops tests that build images or binaries or run external
# services (docker, kubectl, promtool, nginx, the compiled binary, the main.sh chain). And the lab's
# checks (research, not product; their extra voices come from lab/setup.sh). And the tests that
# spend their time in other processes: servers under ulimit, ffmpeg and sox decoders, the bench
# commands' own runs.
SLOW=(
  lab/tests
  tests/web/demo_browser_test.ts
  tests/soak
  tests/python
  tests/reference
  tests/decode/sentencepiece_test.ts
  tests/model/joint_outputs_test.ts
  tests/model/v3_signature_test.ts
  tests/ops/export_nemo_test.ts
  tests/ops/compile_test.ts
  tests/ops/docker_test.ts
  tests/ops/kubernetes_test.ts
  tests/ops/prometheus_test.ts
  tests/ops/dashboard_test.ts
  tests/ops/main_chain_test.ts
  tests/ops/nginx_test.ts
  tests/ops/rolling_update_test.ts
  tests/server/fd_limit_test.ts
  tests/server/encoded_stream_test.ts
  tests/server/upload_bombs_test.ts
  tests/server/upload_orphan_test.ts
  tests/client/warmup_bench_cli_test.ts
  tests/cli/bench_gpu_test.ts
)

tier=fast
case "${1:-}" in
  --all) tier=all && shift ;;
  --slow) tier=slow && shift ;;
esac

deno_bin=$(command -v deno || true)
[ -x "$root/.tools/bin/deno" ] && deno_bin="$root/.tools/bin/deno"
[ -n "$deno_bin" ] || { echo "deno not found: run bash scripts/setup.sh" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  for path in "${SLOW[@]}"; do
    [ -e "$path" ] || { echo "scripts/test.sh: SLOW lists $path, which does not exist" >&2; exit 1; }
  done
  case "$tier" in
    all) args=(tests/ lab/tests/) ;;
    slow) args=("${SLOW[@]}") ;;
    *) args=("--ignore=$(IFS=,; echo "${SLOW[*]}")" tests/) ;;
  esac
fi
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
