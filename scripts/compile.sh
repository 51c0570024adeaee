#!/usr/bin/env bash
# `deno task compile`: builds the single binary dist/parakeet-server (every subcommand) with the
# program's permissions (scripts/deno_permissions.sh) and nothing more.
#
# deno compile needs Deno's runtime `denort`: from DENORT_BIN when set (a raw denort file), else
# Deno's cache ($DENO_DIR/dl/release/v<version>/denort-<target>.zip), else a download from
# dl.deno.land. When none is possible it fails; this script then says what to do.
# The binary finds ONNX Runtime beside itself (dist/lib, linked to .tools/lib here), or via
# ORT_LIB; models are always real directories (MODEL, the model cache), never inside the binary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$root/scripts/versions.env"
# shellcheck source=deno_permissions.sh
source "$root/scripts/deno_permissions.sh"
cd "$root"
deno=$root/.tools/bin/deno
[ -x "$deno" ] || deno=$(command -v deno || true)
[ -n "$deno" ] || { echo "compile: deno not found; run bash scripts/setup.sh" >&2; exit 1; }
# An empty DENORT_BIN means unset (deno compile would take "" as a path).
[ -n "${DENORT_BIN:-}" ] || unset DENORT_BIN
if [ -n "${DENORT_BIN:-}" ] && [ ! -f "$DENORT_BIN" ]; then
  echo "compile: DENORT_BIN=$DENORT_BIN is not a file; point it at an unzipped denort $DENO_VERSION binary" >&2
  exit 1
fi
mkdir -p dist
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$deno" compile "${DENO_PERMS[@]}" "${DENO_V8[@]}" --include src/engine/inference_worker.ts --include src/audio/decode_worker.ts --include web \
  --output dist/parakeet-server.new main.ts 2>&1 | tee "$out"; then
  mv dist/parakeet-server.new dist/parakeet-server
  [ -e dist/lib ] || ln -s ../.tools/lib dist/lib
  echo "compile: built dist/parakeet-server (./parakeet-server now runs it); ONNX Runtime: dist/lib -> .tools/lib"
  exit 0
fi
rm -f dist/parakeet-server.new
target=x86_64-unknown-linux-gnu
if grep -qE 'dl\.deno\.land|dns error|error sending request' "$out"; then
  cat >&2 <<MSG

compile: deno compile could not download its runtime (denort $DENO_VERSION for $target) from
dl.deno.land, and DENORT_BIN is not set. No package registry ships denort (npm's and PyPI's
"deno" packages hold the full deno, which cannot stand in for it). Either:
  - on a machine with internet, download
      https://dl.deno.land/release/v$DENO_VERSION/denort-$target.zip
    unzip it and run: DENORT_BIN=/path/to/denort deno task compile
  - or put the zip, unchanged, at \${DENO_DIR:-~/.cache/deno}/dl/release/v$DENO_VERSION/denort-$target.zip
Nothing is lost meanwhile: ./parakeet-server runs the same main.ts with deno run and the same
permissions, and scripts/main.sh does so automatically.
MSG
else
  echo "compile: deno compile failed (see above)" >&2
fi
exit 1
