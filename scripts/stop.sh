#!/usr/bin/env bash
# Stops the server scripts/main.sh started, then purges what setup created (as the seed does).
#
#   bash scripts/stop.sh                 stop, then purge: .tools/{bin,lib,npm,npm-ort,cache},
#                                        dist/, logs/, the model cache
#   bash scripts/stop.sh --keep-models   the same but keep the model cache (gigabytes)
#                                        (or KEEP_MODELS=1)
#   bash scripts/stop.sh --no-purge      stop only (or PURGE=0)
#
# It signals exactly the process in .run.pid (and its process group, which main.sh created for
# it): SIGTERM, which makes the server refuse new streams, flush every open stream's final and
# exit. It waits STOP_TIMEOUT_S (default SHUTDOWN_TIMEOUT_S + 15 = 45) before SIGKILL. No broad
# pkill: a server started by other means is never touched.
# The model cache purged is only this project's directory: $MODEL_CACHE, else
# $HF_HOME/parakeet-server (never the rest of a shared HF_HOME).
set -euo pipefail
# shellcheck source=steps/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps/lib.sh"

purge=${PURGE:-1}
keep_models=${KEEP_MODELS:-0}
for arg in "$@"; do
  case "$arg" in
    --keep-models) keep_models=1 ;;
    --no-purge) purge=0 ;;
    -h | --help)
      sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "stop.sh: unknown option '$arg' (expected --keep-models, --no-purge or --help)" >&2
      exit 2
      ;;
  esac
done

say() { printf '[stop] %s\n' "$*"; }

if pid=$(running_pid); then
  pgid=$(awk '{print $5}' "/proc/$pid/stat" 2>/dev/null || echo "")
  target=$pid
  [ "$pgid" = "$pid" ] && target=-$pid
  say "SIGTERM to PID $pid${pgid:+ (process group $pgid)}: draining open streams"
  kill -TERM -- "$target" 2>/dev/null || true
  limit=${STOP_TIMEOUT_S:-$((${SHUTDOWN_TIMEOUT_S:-30} + 15))}
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((limit * 10)) ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "PID $pid still running after ${limit} s: SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
  else
    say "PID $pid exited after $((waited / 10)).$((waited % 10)) s"
  fi
  # Whatever else is left in the group (a setup child during an early stop).
  if [ "$target" = "-$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    sleep 1
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
elif [ -f "$pid_file" ]; then
  say "no server running (stale .run.pid: $(head -n1 "$pid_file")); nothing to stop"
else
  say "no server running (no .run.pid); nothing to stop"
fi
rm -f "$pid_file" "$state_file"

if [ "$purge" != 1 ]; then
  say "PURGE=0: kept .tools/, logs/ and the model cache"
  exit 0
fi
for d in .tools/bin .tools/lib .tools/npm .tools/npm-ort .tools/cache dist logs; do
  if [ -e "$root/$d" ] || [ -L "$root/$d" ]; then
    rm -rf "${root:?}/$d"
    say "removed $d"
  fi
done
rmdir "$root/.tools" 2>/dev/null || true
cache=$(model_cache_dir)
if [ "$keep_models" = 1 ]; then
  say "kept the model cache $cache (--keep-models)"
elif [ -e "$cache" ]; then
  rm -rf "$cache"
  say "removed the model cache $cache"
fi
# The repository's default HF_HOME, when nothing else is left in it.
rmdir "$root/.cache/hf" "$root/.cache" 2>/dev/null || true
say "done"
