#!/usr/bin/env bash
# All checks in one command: format, lint, types on the core, architecture contracts, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
bash scripts/test.sh "$@"
