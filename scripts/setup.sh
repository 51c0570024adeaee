#!/usr/bin/env bash
# Installs the pinned Deno and the ONNX Runtime shared library under .tools/ (no root needed).
#
#   bash scripts/setup.sh             # Deno + ONNX Runtime (GPU build when nvidia-smi works)
#   ORT_FLAVOR=cpu|gpu|auto           # force the ONNX Runtime build (default auto)
#   ORT_DIR=DIR                       # where the library goes (default .tools/lib)
#   SETUP_ONLY=deno|ort               # install only one of the two
#   CUDA_RUNTIME=0                    # GPU build without NVIDIA's runtime wheels (tests of
#                                     # what a host missing them is told)
#
# Idempotent: what is already installed at the pinned version is left alone and reported.
# Everything comes from registries by package name: Deno from npm (`deno`), ONNX Runtime from
# PyPI wheels (`onnxruntime`, `onnxruntime-gpu`, NVIDIA's CUDA 13 runtime wheels) or, without
# pip, from npm's `onnxruntime-node` (installed with --ignore-scripts; its install script
# downloads from a host outside the registry). A wheel is a zip: nothing Python runs at serve time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$root/scripts/versions.env"

tools="$root/.tools"
ort_dir=${ORT_DIR:-$tools/lib}
case "$ort_dir" in /*) ;; *) ort_dir="$root/$ort_dir" ;; esac
flavor=${ORT_FLAVOR:-auto}
only=${SETUP_ONLY:-}
mkdir -p "$tools/bin" "$tools/cache"

log() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 1
}

install_deno() {
  local bin="$tools/bin/deno"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | head -n1 | grep -q "deno $DENO_VERSION "; then
    log "deno $DENO_VERSION already installed at .tools/bin/deno: nothing to do"
    return
  fi
  command -v npm >/dev/null || die "npm is needed to install Deno (apt-get install npm, or put deno $DENO_VERSION on PATH as .tools/bin/deno)"
  log "installing deno $DENO_VERSION from npm into .tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" "deno@$DENO_VERSION" >/dev/null
  local found
  found=$(find "$tools/npm/node_modules/@deno" -maxdepth 2 -name deno -type f -perm -u+x 2>/dev/null | head -n1)
  [ -n "$found" ] || found="$tools/npm/node_modules/deno/deno"
  [ -x "$found" ] || die "npm installed deno@$DENO_VERSION but no deno binary was found under .tools/npm"
  ln -sf "$found" "$bin"
  "$bin" --version | head -n1
}

# pip download of one wheel for this machine's platform, whatever Python is installed.
fetch_wheel() { # name==version -> prints the wheel path
  local spec=$1 dest="$tools/cache/wheels"
  mkdir -p "$dest"
  pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    -d "$dest" "$spec" >&2
  local name=${spec%%[=<>]*}
  name=${name//-/_}
  ls -t "$dest"/"${name}"-*.whl 2>/dev/null | head -n1
}

unzip_members() { # wheel pattern dest
  python3 - "$@" <<'PY'
import fnmatch, os, shutil, sys, zipfile
wheel, pattern, dest = sys.argv[1:4]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if fnmatch.fnmatch(info.filename, pattern) and not info.is_dir():
            target = os.path.join(dest, os.path.basename(info.filename))
            tmp = target + ".part"
            with z.open(info) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)
PY
}

link_core() { # dir: libonnxruntime.so.<ver> -> .so.1 and .so
  local dir=$1
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so.1"
  ln -sf "libonnxruntime.so.1" "$dir/libonnxruntime.so"
}

want_gpu() {
  case "$flavor" in
    gpu) return 0 ;;
    cpu) return 1 ;;
    auto) command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 ;;
    *) die "ORT_FLAVOR must be cpu, gpu or auto (got '$flavor')" ;;
  esac
}

install_ort() {
  local kind=cpu
  want_gpu && kind=gpu
  local stamp="$ort_dir/.installed"
  [ "$kind" = gpu ] && [ "${CUDA_RUNTIME:-1}" = 0 ] && kind=gpu-no-cuda-runtime
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "onnxruntime-$kind $ORT_VERSION" ] &&
    [ -e "$ort_dir/libonnxruntime.so.$ORT_VERSION" ]; then
    log "onnxruntime ($kind) $ORT_VERSION already installed in ${ort_dir#"$root"/}: nothing to do"
    return
  fi
  mkdir -p "$ort_dir"
  rm -f "$stamp"
  if [ "${kind%%-*}" = gpu ]; then
    command -v pip >/dev/null || die "pip is needed to download the onnxruntime-gpu wheel"
    log "GPU build: onnxruntime-gpu $ORT_VERSION (CUDA $CUDA_MAJOR) and NVIDIA runtime wheels"
    local w
    w=$(fetch_wheel "onnxruntime-gpu==$ORT_VERSION")
    unzip_members "$w" 'onnxruntime/capi/libonnxruntime*.so*' "$ort_dir"
    [ "${CUDA_RUNTIME:-1}" = 0 ] && log "  CUDA_RUNTIME=0: NVIDIA runtime wheels skipped"
    [ "${CUDA_RUNTIME:-1}" = 0 ] || for pkg in "nvidia-cuda-runtime==$CUDA_MAJOR.*" "nvidia-cublas==$CUDA_MAJOR.*" \
      "nvidia-curand" "nvidia-cufft==12.*" "nvidia-cuda-nvrtc==$CUDA_MAJOR.*" \
      "nvidia-cudnn-cu$CUDA_MAJOR"; do
      log "  $pkg"
      w=$(fetch_wheel "$pkg") || die "could not download $pkg"
      unzip_members "$w" 'nvidia/*/lib/*.so*' "$ort_dir"
    done
  else
    if command -v pip >/dev/null; then
      log "CPU build: onnxruntime $ORT_VERSION wheel from PyPI"
      local w
      w=$(fetch_wheel "onnxruntime==$ORT_VERSION")
      unzip_members "$w" 'onnxruntime/capi/libonnxruntime.so*' "$ort_dir"
    else
      log "CPU build: onnxruntime-node $ORT_VERSION from npm (--ignore-scripts)"
      npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$tools/npm-ort" \
        "onnxruntime-node@$ORT_VERSION" >/dev/null
      cp "$tools/npm-ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" \
        "$ort_dir/libonnxruntime.so.$ORT_VERSION"
    fi
  fi
  [ -e "$ort_dir/libonnxruntime.so.$ORT_VERSION" ] || die "libonnxruntime.so.$ORT_VERSION missing after install"
  link_core "$ort_dir"
  echo "onnxruntime-$kind $ORT_VERSION" >"$stamp"
  log "onnxruntime ($kind) $ORT_VERSION installed in ${ort_dir#"$root"/}"
}

[ "$only" = ort ] || install_deno
[ "$only" = deno ] || install_ort
log "done. Deno: .tools/bin/deno   ONNX Runtime: ${ort_dir#"$root"/}/libonnxruntime.so.1"
