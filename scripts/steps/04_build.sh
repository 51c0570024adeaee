#!/usr/bin/env bash
# Step 04: build. `deno task compile` makes the single binary dist/parakeet-server, but only
# when Deno's `denort` runtime is at hand (DENORT_BIN, or Deno's download cache); downloading it
# needs Deno's release host. Without it, ./parakeet-server runs main.ts with `deno run` and the
# same permissions: the same program. COMPILE=1 tries anyway; COMPILE=0 never compiles.
set -euo pipefail
export STEP_NAME=04_build
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../versions.env
source "$root/scripts/versions.env"
deno=$root/.tools/bin/deno

deno_dir=${DENO_DIR:-$HOME/.cache/deno}
cached="$deno_dir/dl/release/v$DENO_VERSION/denort-x86_64-unknown-linux-gnu.zip"
want=${COMPILE:-auto}
if [ "$want" = auto ]; then
  if [ -n "${DENORT_BIN:-}" ] || [ -f "$cached" ]; then want=1; else want=0; fi
fi
if [ "$want" = 1 ]; then
  source_of_denort=${DENORT_BIN:-"the cache or dl.deno.land"}
  step_log "compiling dist/parakeet-server (deno task compile; denort from $source_of_denort)"
  if (cd "$root" && "$deno" task compile) 2>&1 | while IFS= read -r l; do step_log "$l"; done; then
    step_log "built dist/parakeet-server: the launch step runs the compiled binary"
    exit 0
  fi
  step_warn "compile failed (see above): launching main.ts with deno run instead"
else
  step_log "no compile: DENORT_BIN is unset and Deno's runtime is not in $cached"
  step_log "(deno compile would download it from dl.deno.land; set DENORT_BIN to a denort file, or COMPILE=1 to try)"
fi
rm -f "$dist_bin"
# Load every module once so a broken checkout fails here, not after launch.
(cd "$root" && "$deno" cache --quiet main.ts src/engine/inference_worker.ts) ||
  step_die "deno could not load main.ts (see above)"
step_log "the launch step runs main.ts with deno run (./parakeet-server, same permissions as the binary)"
