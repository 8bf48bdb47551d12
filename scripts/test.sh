#!/usr/bin/env bash
# Set up and run the whole test suite (store tests on SQLite and on a real PostgreSQL server that
# the test set-up starts itself; browser tests in Debian's Chromium). "No tests ran" is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
