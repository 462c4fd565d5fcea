#!/usr/bin/env bash
# Set-up shared by the run and test commands: venv, Python and npm packages, static vendor files,
# compiled translations. Safe to run again; it only does what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"   # run | dev

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  rm -rf .venv
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
if [ "$mode" = dev ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
else
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi

# Front-end packages come from npm at the versions package-lock.json pins; never from a CDN.
npm ci --no-audit --no-fund --silent
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/qr-scanner/qr-scanner.min.js node_modules/qr-scanner/qr-scanner-worker.min.js static/vendor/
# The browser verifier's Ed25519 where WebCrypto lacks it (an ES module, pinned in package.json).
cp node_modules/@noble/ed25519/index.js static/vendor/noble-ed25519.js

.venv/bin/pybabel -q compile --use-fuzzy -d gantong/translations
