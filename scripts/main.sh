#!/usr/bin/env bash
# One command from a clone to a running server: runs scripts/steps/ 00–05 detached (environment
# check, system packages, Deno + ONNX Runtime, model prefetch, build, launch).
#
#   bash scripts/main.sh        knobs come from the environment (docs/configuration.md), e.g.
#                               PORT=9000 MODEL=/models/parakeet bash scripts/main.sh
#
# Everything goes to logs/run_<timestamp>.log; logs/latest.log links to it; the PID (the chain,
# which becomes the server) goes to .run.pid. On a terminal the log is tailed (Ctrl+C stops the
# tail only; the server keeps running). When stdout is not a terminal, or NO_TAIL=1, it returns
# once the server listens (exit 0) or the chain failed (exit 1, with the log's last lines).
# LAUNCH_TIMEOUT_S (default 1800) bounds the wait. Stop with: bash scripts/stop.sh
set -euo pipefail
# shellcheck source=steps/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps/lib.sh"
cd "$root"

if pid=$(running_pid); then
  echo "parakeet-server is already running (PID $pid, log $(readlink -f "$logs_dir/latest.log" 2>/dev/null || echo "$logs_dir/latest.log"))."
  echo "Not starting a second one. Stop it first with: bash scripts/stop.sh"
  exit 0
fi
rm -f "$pid_file" "$state_file"

mkdir -p "$logs_dir"
log="$logs_dir/run_$(date -u +%Y%m%d_%H%M%S).log"
# Two runs in the same second: a suffix rather than one log for both.
n=1
while [ -e "$log" ]; do log="${log%.log}_$n.log" && n=$((n + 1)); done
: >"$log"
ln -sfn "$(basename "$log")" "$logs_dir/latest.log"

# setsid: the chain gets its own session and process group, so Ctrl+C on this terminal (and
# this script's exit) never reaches it, and stop.sh can signal exactly that group.
setsid bash "$root/scripts/steps/run_chain.sh" >>"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"
echo "parakeet-server: chain started (PID $pid); log: logs/$(basename "$log") (logs/latest.log)"

if [ -t 1 ] && [ "${NO_TAIL:-0}" != 1 ]; then
  echo "Tailing the log; Ctrl+C stops the tail, the server keeps running (stop: bash scripts/stop.sh)."
  # shellcheck disable=SC2317 # called by the trap
  on_int() {
    echo
    if kill -0 "$pid" 2>/dev/null; then
      echo "tail stopped; the server keeps running (PID $pid). Stop it with: bash scripts/stop.sh"
      exit 0
    fi
    echo "tail stopped; the chain is no longer running (see $log)"
    exit 1
  }
  trap on_int INT
  # --pid: the tail ends by itself when the chain (or the server it became) exits.
  tail -n +1 -F --pid="$pid" "$log" || true
  echo "parakeet-server: the process $pid exited; see $log" >&2
  rm -f "$pid_file"
  exit 1
fi

timeout_s=${LAUNCH_TIMEOUT_S:-1800}
deadline=$((SECONDS + timeout_s))
while :; do
  if line=$(grep -m1 -o 'listening on ws://[^ ]*' "$log"); then
    port=$(sed -E 's#.*:([0-9]+)/ws#\1#' <<<"$line")
    status=""
    if command -v curl >/dev/null 2>&1; then
      status=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/status" 2>/dev/null || true)
    fi
    echo "parakeet-server: ${line#listening on } (PID $pid)${status:+, /status: $status}"
    grep -q 'OFFLINE DEFAULT' "$log" && echo "parakeet-server: WARNING: serving the bundled demo model (offline default; see logs/latest.log)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "parakeet-server: the chain stopped before the server listened; last lines of $log:" >&2
    tail -n 25 "$log" >&2
    rm -f "$pid_file"
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "parakeet-server: not listening after ${timeout_s} s (LAUNCH_TIMEOUT_S); still running as PID $pid; see $log" >&2
    exit 1
  fi
  sleep 0.5
done
