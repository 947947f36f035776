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

# The release build (make build) is built smaller: Leptos's `erase_components` (views
# type-erased: one hydration routine instead of one per view type; server and wasm must
# agree, or hydration fails) and, for the wasm where std is built from source, panics that
# abort without formatting a message (`immediate-abort`). Set through cargo's per-target
# variables (CARGO_TARGET_<TRIPLE>_RUSTFLAGS), which a RUSTFLAGS of your own would override:
# make build unsets it.
if [ "$PORTAL_WASM_MODE" = debian ]; then
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  PORTAL_LIB_CARGO_ARGS="-Zbuild-std=std,panic_abort"
  PORTAL_WASM_RELEASE_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort"
else
  PORTAL_LIB_CARGO_ARGS=""
  PORTAL_WASM_RELEASE_RUSTFLAGS="--cfg erase_components"
fi
PORTAL_HOST_TRIPLE="$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')"
# An unknown host would build the server without erase_components and the wasm with it:
# a bundle that cannot hydrate. Fall back to RUSTFLAGS-free builds of both then.
if [ -n "$PORTAL_HOST_TRIPLE" ]; then
  PORTAL_HOST_RUSTFLAGS_VAR="CARGO_TARGET_$(echo "$PORTAL_HOST_TRIPLE" | tr 'a-z.-' 'A-Z__')_RUSTFLAGS"
else
  PORTAL_HOST_RUSTFLAGS_VAR="PORTAL_UNUSED_RUSTFLAGS"
  PORTAL_WASM_RELEASE_RUSTFLAGS=""
fi
export PORTAL_LIB_CARGO_ARGS PORTAL_WASM_RELEASE_RUSTFLAGS PORTAL_HOST_RUSTFLAGS_VAR

export PATH="$PORTAL_TOOLS_DIR/cargo/bin:$PORTAL_TOOLS_DIR/npm/node_modules/.bin:$PATH"

# Builds never need a database: sqlx's macros read .sqlx/ (committed).
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
