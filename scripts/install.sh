#!/usr/bin/env bash
# Create .venv and install Mimir with its dev tools; safe to re-run (does only what is missing).
# torch is installed first, pinned, with pip: pip finds the CPU wheel where one is provided
# locally, and a later resolver then sees torch==2.13.0 satisfied instead of pulling CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "==> installing torch 2.13.0 (CPU)"
  "$VENV/bin/pip" install --quiet "torch==2.13.0"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/pip" install --quiet uv
fi
echo "==> installing mimir-aip and its dev tools"
UV_COMPILE_BYTECODE=1 "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" -e ".[dev]"
echo "==> installing the example plugin (used by the tests)"
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e examples/mimir-example-plugin
"$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "==> installing the web UI's assets (npm ci into ui/node_modules: Swagger UI, axe-core)"
  command -v npm >/dev/null || { echo "!! npm is required for the web UI's assets (apt-get install -y npm)" >&2; exit 1; }
  (cd ui && npm ci --ignore-scripts --no-audit --no-fund)
fi
touch "$VENV/.mimir-installed"
