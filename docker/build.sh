#!/usr/bin/env bash
# Builds the image parakeet-tdt-streaming:latest (IMAGE to rename it; extra arguments go to
# docker build, e.g. --build-arg CUDA_IMAGE=nvidia/cuda:<tag>).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${IMAGE:-parakeet-tdt-streaming:latest}
command -v docker >/dev/null 2>&1 || { echo "docker/build.sh: docker is not installed" >&2; exit 1; }
exec docker build -f "$root/docker/Dockerfile" -t "$image" "$@" "$root"
