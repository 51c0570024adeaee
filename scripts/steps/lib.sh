# Shared by scripts/main.sh, scripts/stop.sh and the steps: paths, logging, the model cache.
# Sourced, never run. Every path here is derived in one place so stop.sh purges exactly what
# the chain created.
# shellcheck shell=bash disable=SC2034

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PARAKEET_ROOT=$root
logs_dir="$root/logs"
pid_file="$root/.run.pid"
# Facts one step hands to a later one (the model directory chosen, the program to launch).
state_file="$root/.run.state"
# The compiled binary, when `deno task compile` could build one (./parakeet-server prefers it).
dist_bin="$root/dist/parakeet-server"
# The model names fetch-model knows; a MODEL that is none of these must be a directory.
known_models="parakeet-tdt-0.6b-v3"

step_log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${STEP_NAME:-main}" "$*"; }
step_warn() { step_log "WARNING: $*"; }
step_die() {
  step_log "ERROR: $*"
  exit 1
}

# Where fetch-model puts models: MODEL_CACHE, else $HF_HOME/parakeet-server, else
# <repo>/.cache/hf/parakeet-server (the seed's HF_HOME default). Mirrors src/fetch/cache_dir.ts.
model_cache_dir() {
  if [ -n "${MODEL_CACHE:-}" ]; then
    printf '%s\n' "$MODEL_CACHE"
  else
    printf '%s/parakeet-server\n' "${HF_HOME:-$root/.cache/hf}"
  fi
}

# True when MODEL names one of the models fetch-model can download.
is_known_model() {
  local name
  for name in $known_models; do [ "$1" = "$name" ] && return 0; done
  return 1
}

# The PID in .run.pid when that process is alive and is ours (its working directory is this
# checkout), else nothing. A stale file (crash, reboot, PID reused) is not a running server.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(head -n1 "$pid_file" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" = "$root" ] || return 1
  printf '%s\n' "$pid"
}

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no curl needed).
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Writes KEY=VALUE into the state file (replacing an earlier value).
state_set() {
  local key=$1 value=$2 tmp
  tmp=$(mktemp "$state_file.XXXXXX")
  { grep -v "^$key=" "$state_file" 2>/dev/null || true; printf '%s=%q\n' "$key" "$value"; } >"$tmp"
  mv "$tmp" "$state_file"
}
