#!/usr/bin/env bash
# Run the whole test suite: set-up with dev dependencies, Debian's Chromium, CJK fonts and HAProxy
# (the failover test's balancer) if missing, then the import-linter contracts and pytest. DATABASE_URL, if set, runs the suite on that database (PostgreSQL):
# only the tests that touch a database (see tests/conftest.py).
# PYTEST_WORKERS (default 2, pytest-xdist) workers run it; one file runs in one process:
#   bash scripts/test.sh tests/views/auth/test_auth.py     PYTEST_WORKERS=0 for no xdist at all
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
  || [ ! -x /usr/sbin/haproxy ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-noto-cjk haproxy >/dev/null
fi
# One style (ruff format, the line length in pyproject.toml) and ruff's lint rules, then the
# layering contracts (pyproject.toml [tool.importlinter]), before any test.
.venv/bin/ruff format --check --quiet . || { echo "ruff format: run '.venv/bin/ruff format .'" >&2; exit 1; }
.venv/bin/ruff check --quiet .
.venv/bin/lint-imports --no-cache
workers=${PYTEST_WORKERS:-}
if [ -z "$workers" ]; then
  workers=2
  # A test or one file named: one process starts faster than two workers.
  if [ "$#" -eq 1 ] && [ -f "${1%%::*}" ]; then workers=0; fi
fi
# loadgroup: a module marked xdist_group (one app for the module) stays on one worker.
exec .venv/bin/python -m pytest -q -n "$workers" --dist loadgroup "$@"
