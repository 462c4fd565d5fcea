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
# Each step leaves a stamp (a copy of what it installed from); a step whose inputs equal its
# stamp is done already. pip and npm ci took about 15 s even with nothing to do, and npm ci
# empties node_modules first, so a second run beside a first one (two worktrees sharing a
# node_modules, a test run beside the demo) pulled the files from under the first.
stamp_is_current() { [ -f "$1" ] && cat "${@:2}" | cmp -s - "$1"; }
requirements=(requirements.txt)
[ "$mode" = dev ] && requirements=(requirements.txt requirements-dev.txt)
if ! stamp_is_current ".venv/.gantong-$mode-requirements" "${requirements[@]}"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/pip install --quiet --disable-pip-version-check -r "${requirements[-1]}"
  cat "${requirements[@]}" > ".venv/.gantong-$mode-requirements"
fi

# Front-end packages come from npm at the versions package-lock.json pins; never from a CDN.
if ! stamp_is_current node_modules/.gantong-package-lock.json package-lock.json; then
  npm ci --no-audit --no-fund --silent
  cp package-lock.json node_modules/.gantong-package-lock.json
fi
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/qr-scanner/qr-scanner.min.js node_modules/qr-scanner/qr-scanner-worker.min.js static/vendor/
# The browser verifier's Ed25519 where WebCrypto lacks it (an ES module, pinned in package.json).
cp node_modules/@noble/ed25519/index.js static/vendor/noble-ed25519.js
# The code page's QR drawn on the phone from its own credential (holder-code.js).
cp node_modules/qrcode-generator/dist/qrcode.js static/vendor/qrcode.js

.venv/bin/pybabel -q compile --use-fuzzy -d gantong/translations
