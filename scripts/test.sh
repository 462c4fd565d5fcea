#!/usr/bin/env bash
# Run the whole test suite: set-up with dev dependencies, Debian's Chromium and CJK fonts if
# missing, then the import-linter contracts and pytest. DATABASE_URL, if set, runs the suite on that database (PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
# The layering contracts (pyproject.toml [tool.importlinter]) before any test.
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest -q "$@"
