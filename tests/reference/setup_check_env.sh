#!/usr/bin/env bash
# Creates .tools/venv-check with onnx-asr and onnxruntime, for the cross-check tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$root/.tools/venv-check"
req="$root/tests/reference/requirements.txt"
stamp="$venv/.requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$req"; then
  echo "[check-env] .tools/venv-check is up to date: nothing to do"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
echo "[check-env] .tools/venv-check ready ($("$venv/bin/python" -c 'import onnx_asr, onnxruntime; print("onnxruntime", onnxruntime.__version__)'))"
