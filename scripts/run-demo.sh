#!/usr/bin/env bash
# Run the app on SQLite (instance/gantong.sqlite) with demo data at http://127.0.0.1:${PORT:-5000}.
# The logins print as one table; what the demo data writes to the log (SMS among it) goes to
# instance/demo.log. While serving, every SMS (password-reset codes...) is in the server log here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export FLASK_APP=app
port="${PORT:-5000}"
# The links in text messages start with it; the app refuses to start without it (not debug).
export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:${port}}"
mkdir -p instance
.venv/bin/flask db upgrade 2>>instance/demo.log
.venv/bin/flask gantong demo 2>>instance/demo.log
echo
echo "Open http://127.0.0.1:${port}/login (set PORT to serve on another port)."
echo "SMS (password-reset codes) are written to the server log below; the demo's own in instance/demo.log."
exec .venv/bin/flask run --host 127.0.0.1 --port "${port}"
