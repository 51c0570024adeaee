#!/usr/bin/env bash
# Creates (idempotently) the Python venv with NeMo, onnx and onnx-asr at .tools/venv-nemo.
# torch==2.13.0 is installed first: that exact version resolves to a CPU build here; letting a
# later install choose a version pulls a multi-GB CUDA build. Everything else goes in with the
# constraints file so nothing can move torch.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV_NEMO:-$ROOT/.tools/venv-nemo}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"
want="$(cat "$ROOT/models/requirements-nemo.txt" "$ROOT/models/constraints.txt" | sha256sum | cut -d' ' -f1)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "venv-nemo: up to date at $VENV"
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "venv-nemo: creating $VENV"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip wheel setuptools
"$VENV/bin/python" -m pip install "torch==2.13.0"
"$VENV/bin/python" -m pip install -c "$ROOT/models/constraints.txt" -r "$ROOT/models/requirements-nemo.txt"
"$VENV/bin/python" -c "import torch, nemo, onnx, onnxruntime, onnx_asr; print('torch', torch.__version__, 'nemo', nemo.__version__, 'onnxruntime', onnxruntime.__version__)"
echo "$want" > "$STAMP"
echo "venv-nemo: ready at $VENV"
