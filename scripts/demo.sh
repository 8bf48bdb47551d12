#!/usr/bin/env bash
# The main job: set up, generate the demo country, load it, and serve/summarize it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/talaia demo "$@"
