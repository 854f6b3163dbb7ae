#!/usr/bin/env bash
# Make the OpenFisca peer's own venv at bench/openfisca/.venv from requirements.txt (git-ignored).
#   bash bench/openfisca/setup.sh          # then: bench/openfisca/.venv/bin/python bench/openfisca/run_peer.py ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
uv=""
if [ -x "$here/../../.venv/bin/uv" ]; then uv="$here/../../.venv/bin/uv"; elif command -v uv >/dev/null 2>&1; then uv="uv"; fi
if [ -n "$uv" ]; then
  "$uv" venv --quiet --allow-existing --python "$python" "$venv"
  "$uv" pip install --quiet --python "$venv/bin/python" -r "$here/requirements.txt"
else
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
"$venv/bin/python" -c "import openfisca_core, numpy, polars; print('openfisca peer venv ready:', '$venv')"
