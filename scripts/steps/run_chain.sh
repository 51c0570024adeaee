#!/usr/bin/env bash
# The detached chain scripts/main.sh starts: steps 00–04 in order (any failure stops the chain),
# then step 05 replaces this process with the server.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"
for step in 00_env_check 01_system_deps 02_runtime 03_prefetch_model 04_build; do
  step_log "== step $step =="
  if ! bash "$root/scripts/steps/$step.sh"; then
    step_log "chain stopped: step $step failed"
    exit 1
  fi
done
step_log "== step 05_launch =="
exec bash "$root/scripts/steps/05_launch.sh"
