#!/usr/bin/env bash
# The container's entrypoint (docker/Dockerfile): the host's steps that belong at start time —
# 00 (environment check), 03 (model prefetch into the /cache/hf volume, with the offline default
# when MODEL is unset) — then 05 replaces this process with the server, so it receives SIGTERM
# from `docker stop` directly and drains. The install steps ran when the image was built.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"
for step in 00_env_check 03_prefetch_model; do
  step_log "== step $step =="
  bash "$root/scripts/steps/$step.sh" || { step_log "start stopped: step $step failed"; exit 1; }
done
step_log "== step 05_launch =="
exec bash "$root/scripts/steps/05_launch.sh"
