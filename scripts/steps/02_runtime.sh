#!/usr/bin/env bash
# Step 02: Deno and the ONNX Runtime library into .tools/ — exactly `bash scripts/setup.sh`
# (GPU build when nvidia-smi works; ORT_FLAVOR=cpu|gpu forces it). Idempotent.
set -euo pipefail
export STEP_NAME=02_runtime
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
step_log "bash scripts/setup.sh"
if ! bash "$root/scripts/setup.sh" 2>&1 | while IFS= read -r line; do step_log "$line"; done; then
  step_die "scripts/setup.sh failed (see the lines above)"
fi
