#!/usr/bin/env bash
# Step 01: the Debian packages the next steps need, installed only when missing, with sudo only
# when not root (never interactively: the chain runs detached, so `sudo -n`).
#   needed: npm (to install Deno, unless it is already there), python3-pip or npm (ONNX Runtime
#           wheel), ca-certificates
#   wanted: ffmpeg (non-WAV audio for transcribe); a failure to install it is only a warning
# SKIP_APT=1 installs nothing and only reports.
set -euo pipefail
export STEP_NAME=01_system_deps
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../versions.env
source "$root/scripts/versions.env"

needed=()
have_deno() {
  [ -x "$root/.tools/bin/deno" ] && "$root/.tools/bin/deno" --version 2>/dev/null | head -n1 | grep -q "deno $DENO_VERSION "
}
have_ort() { [ -e "$root/.tools/lib/libonnxruntime.so.$ORT_VERSION" ] || [ -n "${ORT_LIB:-}" ]; }
if ! have_deno && ! command -v npm >/dev/null 2>&1; then needed+=(npm); fi
if ! have_ort && ! command -v pip >/dev/null 2>&1 && ! command -v npm >/dev/null 2>&1; then
  needed+=(python3-pip)
fi
if ! have_ort && ! command -v python3 >/dev/null 2>&1; then needed+=(python3); fi
[ -d /etc/ssl/certs ] || needed+=(ca-certificates)
wanted=()
command -v ffmpeg >/dev/null 2>&1 || wanted+=(ffmpeg)

if [ ${#needed[@]} -eq 0 ] && [ ${#wanted[@]} -eq 0 ]; then
  step_log "system packages: everything needed is present; nothing to install"
  exit 0
fi

apt_install() { # packages… ; returns non-zero when they could not be installed
  local runner=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      step_warn "installing $* needs root and sudo -n is not available (the chain runs detached and cannot ask for a password)"
      return 1
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || {
    step_warn "apt-get not found: install $* with this system's package manager"
    return 1
  }
  step_log "apt-get install $* ${runner[*]:+(via ${runner[*]})}"
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if [ "${SKIP_APT:-0}" = 1 ]; then
  [ ${#needed[@]} -eq 0 ] || step_die "SKIP_APT=1 but these packages are needed: ${needed[*]}; install them first"
  step_warn "SKIP_APT=1: not installing ${wanted[*]} (optional: ffmpeg decodes non-WAV audio)"
  exit 0
fi
if [ ${#needed[@]} -gt 0 ]; then
  apt_install "${needed[@]}" || step_die "could not install ${needed[*]}; install them (e.g. sudo apt-get install ${needed[*]}) and rerun"
fi
if [ ${#wanted[@]} -gt 0 ]; then
  apt_install "${wanted[@]}" || step_warn "${wanted[*]} not installed: only WAV input works for transcribe"
fi
