#!/usr/bin/env bash
# Step 03: decide which model the server gets, fetching it when needed.
#   MODEL=<directory>   used as given (it must exist; an explicit model never falls back)
#   MODEL=<name>        fetched into the model cache; a failure stops the chain
#   MODEL unset         Parakeet-TDT-0.6B-v3 is fetched into the cache (a no-op when it is there);
#                       when it cannot be fetched the chain goes on with the small model bundled
#                       in the repository, and says so loudly (the OFFLINE DEFAULT).
# The choice goes to .run.state for step 05.
set -euo pipefail
export STEP_NAME=03_prefetch_model
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fetch() { # name -> prints the model directory; the log gets fetch-model's progress
  local out
  out=$("$root/parakeet-server" fetch-model "$1" 2> >(while IFS= read -r l; do step_log "$l"; done >&2)) || return 1
  printf '%s\n' "$out" | tail -n1
}

if [ -n "${MODEL:-}" ]; then
  if [ -d "$MODEL" ]; then
    step_log "MODEL=$MODEL: using this directory as given"
    state_set MODEL_DIR "$(cd "$MODEL" && pwd)"
  elif is_known_model "$MODEL"; then
    step_log "MODEL=$MODEL: fetching it into $(model_cache_dir)"
    dir=$(fetch "$MODEL") || step_die "MODEL=$MODEL was requested explicitly and could not be fetched (see above); an explicit model never falls back to the bundled one. Fix the network (or MODEL_BASE_URL), or set MODEL to a model directory"
    state_set MODEL_DIR "$dir"
  else
    step_die "MODEL=$MODEL is neither a directory nor a model fetch-model knows ($known_models)"
  fi
  exit 0
fi

default=${known_models%% *}
if [ "${PREFETCH:-1}" = 0 ]; then
  reason="PREFETCH=0"
elif dir=$(fetch "$default"); then
  step_log "MODEL unset: serving $default from $dir"
  state_set MODEL_DIR "$dir"
  exit 0
else
  reason="it could not be fetched from ${MODEL_BASE_URL:-the Hugging Face hub} (see above)"
fi
step_warn "##############################################################################"
step_warn "OFFLINE DEFAULT: MODEL is unset and $default is not available: $reason."
step_warn "Serving the small demo model bundled in models/demo instead. It recognises spoken"
step_warn "digits only; its transcripts of anything else are meaningless. /v1/status says"
step_warn "\"bundled\": true. To serve Parakeet: fetch it (./parakeet-server fetch-model) or set"
step_warn "MODEL to its directory, then rerun."
step_warn "##############################################################################"
state_set MODEL_DIR ""
