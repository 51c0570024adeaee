#!/usr/bin/env bash
# Step 00: what this machine is. A GPU (nvidia-smi works) means CUDA; otherwise a clear warning
# and the CPU. DEVICE=cuda without a GPU stops here rather than at model load. A busy PORT stops
# here too, before minutes of setup.
set -euo pipefail
export STEP_NAME=00_env_check
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step_log "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
if command -v nvidia-smi >/dev/null 2>&1 && gpus=$(nvidia-smi -L 2>/dev/null) && [ -n "$gpus" ]; then
  while IFS= read -r g; do step_log "GPU: $g"; done <<<"$gpus"
  step_log "CUDA: setup installs the GPU build of ONNX Runtime; DEVICE=${DEVICE:-auto} uses CUDA"
else
  reason="nvidia-smi not found"
  command -v nvidia-smi >/dev/null 2>&1 && reason="nvidia-smi found but lists no GPU (driver not loaded?)"
  if [ "${DEVICE:-auto}" = cuda ]; then
    step_die "DEVICE=cuda but $reason; install the NVIDIA driver, or unset DEVICE to run on the CPU"
  fi
  step_warn "no NVIDIA GPU ($reason): running on the CPU. Expect about one real-time stream per"
  step_warn "2 cores with Parakeet-TDT-0.6B-v3 (docs/configuration.md); install the NVIDIA driver for CUDA."
fi

port=${PORT:-8000}
if [ "$port" != 0 ] && port_in_use "$port"; then
  step_die "port $port is already in use by another program (see: ss -ltnp 'sport = :$port'); stop it or set PORT to a free port"
fi
step_log "port $port is free"
