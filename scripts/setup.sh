#!/usr/bin/env bash
# Installs everything Talaia and its tests need on a fresh Debian machine (run as root):
# Debian packages (PostgreSQL server for the store tests, Chromium for the browser tests),
# uv, and the locked Python environment in .venv. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v runuser >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]} (or install them yourself)" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v uv >/dev/null; then
  echo "setup: installing uv"
  python3 -m pip install -q uv || python3 -m pip install -q --break-system-packages uv
fi
export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --python python3
