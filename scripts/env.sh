# Sourced by the Makefile before every cargo call: chooses the toolchain and puts the
# project's tools on PATH. One compiler for one target/ (mixing them rebuilds everything).
#
#  - rustup with the wasm32-unknown-unknown target installed (an ordinary laptop): use it.
#  - otherwise Debian's rustc-web (1.96) with its std sources, building std for wasm
#    (-Zbuild-std, hence RUSTC_BOOTSTRAP=1). See docs/toolchain.md.

PORTAL_TOOLS_DIR="${PORTAL_TOOLS_DIR:-$HOME/.cache/portal-contmax/tools}"
export PORTAL_TOOLS_DIR

if [ -z "${PORTAL_WASM_MODE:-}" ]; then
  if command -v rustup >/dev/null 2>&1 \
     && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    PORTAL_WASM_MODE=rustup
  else
    PORTAL_WASM_MODE=debian
  fi
fi
export PORTAL_WASM_MODE

if [ "$PORTAL_WASM_MODE" = debian ]; then
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  PORTAL_LIB_CARGO_ARGS="-Zbuild-std=std,panic_abort"
else
  PORTAL_LIB_CARGO_ARGS=""
fi
export PORTAL_LIB_CARGO_ARGS

export PATH="$PORTAL_TOOLS_DIR/cargo/bin:$PORTAL_TOOLS_DIR/npm/node_modules/.bin:$PATH"

# Builds never need a database: sqlx's macros read .sqlx/ (committed).
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
