#!/usr/bin/env bash
# Runs the image with every GPU, publishing PORT (default 8000), the model cache in the named
# volume parakeet-hf (HF_CACHE=/host/dir to use a host directory instead). Knobs given in the
# environment are passed through: STEP_MS=320 PORT=9000 bash docker/run.sh
set -euo pipefail
image=${IMAGE:-parakeet-tdt-streaming:latest}
port=${PORT:-8000}
cache=${HF_CACHE:-parakeet-hf}
command -v docker >/dev/null 2>&1 || { echo "docker/run.sh: docker is not installed" >&2; exit 1; }
gpus=(--gpus all)
[ "${NO_GPU:-0}" = 1 ] && gpus=()
envs=(-e "PORT=$port")
for knob in MODEL PRECISION DEVICE STEP_MS RIGHT_CONTEXT_MS LEFT_CONTEXT_MS MAX_BATCH \
  MAX_INFLIGHT_STEPS MAX_STREAMS ORT_THREADS SHUTDOWN_TIMEOUT_S MODEL_BASE_URL; do
  [ -n "${!knob:-}" ] && envs+=(-e "$knob=${!knob}")
done
tty=()
[ -t 0 ] && [ -t 1 ] && tty=(-it) # -it fails without a terminal (CI, scripts)
exec docker run --rm "${tty[@]}" "${gpus[@]}" -p "$port:$port" -v "$cache:/cache/hf" \
  --stop-timeout 45 "${envs[@]}" "$image" "$@"
