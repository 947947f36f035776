#!/usr/bin/env bash
# Installs what the build needs, idempotently (a second run takes seconds):
#   the wasm toolchain (Debian's rustc-web + std sources + lld, unless rustup has wasm32),
#   cargo-leptos (no_downloads), wasm-bindgen-cli at the version in Cargo.lock,
#   wasm-opt 123 (npm binaryen) for release builds.
# With --e2e also Chromium (Debian) and the Playwright test runner (npm ci in end2end/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

E2E=0
[ "${1:-}" = "--e2e" ] && E2E=1

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; exit 1; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing packages (${missing[*]}) and no apt-get: install them by hand"; exit 1
  fi
  if [ $APT_UPDATED = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if [ "$PORTAL_WASM_MODE" = debian ]; then
  apt_install rustc-web rust-web-src lld-22 rust-web-clippy rustfmt-web
fi

mkdir -p "$PORTAL_TOOLS_DIR/cargo" "$PORTAL_TOOLS_DIR/npm"

want_leptos=0.3.11
if ! cargo-leptos --version 2>/dev/null | grep -q "$want_leptos"; then
  log "installing cargo-leptos $want_leptos (once, ~15 min on 2 cores)"
  cargo install cargo-leptos --version "$want_leptos" --locked --features no_downloads \
    --root "$PORTAL_TOOLS_DIR/cargo"
fi

want_wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $want_wbg\$"; then
  log "installing wasm-bindgen-cli $want_wbg (must equal Cargo.lock)"
  # Not --locked: its own lock file can pin crates newer than the registry mirror has.
  cargo install wasm-bindgen-cli --version "$want_wbg" --root "$PORTAL_TOOLS_DIR/cargo"
fi

if ! wasm-opt --version 2>/dev/null | grep -q "version 123"; then
  log "installing wasm-opt 123 (npm binaryen; Debian's 108 breaks hydration)"
  npm install --silent --no-audit --no-fund --prefix "$PORTAL_TOOLS_DIR/npm" binaryen@123
fi

if [ $E2E = 1 ]; then
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ ! -d end2end/node_modules/@playwright/test ] \
     || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "npm ci in end2end/ (Playwright runner only; it downloads no browser)"
    npm ci --silent --no-audit --no-fund --prefix end2end
  fi
fi
log "toolchain ready ($PORTAL_WASM_MODE): $(cargo --version)"
