#!/usr/bin/env bash
# Extract message ids from code and templates, merge them into the zh catalogue, compile.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel -q extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o gantong/translations/messages.pot .
.venv/bin/pybabel -q update -i gantong/translations/messages.pot -d gantong/translations -l zh --no-fuzzy-matching --ignore-obsolete
.venv/bin/pybabel -q compile -d gantong/translations
