#!/usr/bin/env bash
# Step 05: start the server in place of this process (exec: the PID in .run.pid stays the
# server's), with the model step 03 chose. Knobs pass through the environment
# (docs/configuration.md lists them).
set -euo pipefail
export STEP_NAME=05_launch
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MODEL_DIR=""
# shellcheck disable=SC1090
[ -f "$state_file" ] && source "$state_file"
if [ -n "$MODEL_DIR" ]; then
  export MODEL=$MODEL_DIR
else
  unset MODEL
fi
if [ -x "$dist_bin" ]; then
  how="the compiled binary dist/parakeet-server"
else
  how="deno run main.ts (no compiled binary; ./parakeet-server)"
fi
step_log "launching: $how serve, MODEL=${MODEL:-<bundled test model>}, PORT=${PORT:-8000}, DEVICE=${DEVICE:-auto}"
cd "$root"
exec "$root/parakeet-server" serve
