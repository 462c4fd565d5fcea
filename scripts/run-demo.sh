#!/usr/bin/env bash
# Run the app on SQLite (instance/gantong.sqlite) with demo data at http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export FLASK_APP=app
.venv/bin/flask db upgrade
echo "Demo logins (mobile number / password):"
.venv/bin/flask gantong demo
echo "Open http://127.0.0.1:${PORT:-5000}"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
