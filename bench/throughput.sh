#!/usr/bin/env bash
# bench/throughput.py with the venv (made by scripts/setup.sh dev) and py-spy when --profile is given.
# Usage: bash bench/throughput.sh [--quick] [--no-postgres] [--profile bench/profiles] ...
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh dev
case " $* " in
  *" --profile"*) [ -x .venv/bin/py-spy ] || .venv/bin/pip install --quiet -r bench/requirements.txt ;;
esac
exec .venv/bin/python bench/throughput.py "$@"
