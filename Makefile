# Portal Contmax · Integrações. The two commands: `make run` and `make test` (README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
ENV := . scripts/env.sh &&
SITE_ENV := LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=portal LEPTOS_SITE_PKG_DIR=pkg

.PHONY: run test test-attack bench bench-engine bootstrap bootstrap-e2e lint-fast db-stop build dev test-unit test-e2e check-sqlx sqlx-prepare lint fmt clean-db

## make run: install the toolchain, build (release), migrate, seed demo users, serve :3000
run: bootstrap build
	@eval "$$(scripts/db.sh portal_contmax)"; \
	export DEMO_SEED=$${DEMO_SEED:-1}; \
	$(SITE_ENV) exec $(TARGET_DIR)/release/server

## make test: everything CI runs (unit + database tests, then Playwright in Chromium)
test: bootstrap-e2e lint build check-sqlx test-unit test-attack test-e2e

bootstrap:
	@scripts/bootstrap.sh

bootstrap-e2e:
	@scripts/bootstrap.sh --e2e

## release build of server and wasm (wasm with its own size-first profile, split by page;
## both with Leptos's erase_components, see scripts/env.sh); then the gzip copies of
## target/site written again with Zopfli (tools/precompress: 18% smaller than the build's own)
build:
	@$(ENV) env -u RUSTFLAGS "$$PORTAL_HOST_RUSTFLAGS_VAR=--cfg erase_components" \
	  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$$PORTAL_WASM_RELEASE_RUSTFLAGS" \
	  cargo leptos build --release --precompress --split --lib-cargo-args="$$PORTAL_LIB_CARGO_ARGS"
	@$(ENV) env -u RUSTFLAGS "$$PORTAL_HOST_RUSTFLAGS_VAR=--cfg erase_components" \
	  cargo run --release --quiet --package precompress -- target/site

## cargo leptos watch: live-reloading development server
dev: bootstrap
	@eval "$$(scripts/db.sh portal_contmax)"; export DEMO_SEED=$${DEMO_SEED:-1}; \
	$(ENV) cargo leptos watch --split --lib-cargo-args="$$PORTAL_LIB_CARGO_ARGS"

## every crate's tests; database tests get a fresh database each (#[sqlx::test])
test-unit:
	@eval "$$(scripts/db.sh portal_contmax_tests)"; \
	$(ENV) cargo test --workspace --exclude frontend --features app/ssr

## the attack suite's HTTP part against the release server (after build and test-unit)
test-attack:
	@$(ENV) scripts/attack.sh "$(TARGET_DIR)"

test-e2e:
	@$(ENV) scripts/e2e.sh "$(TARGET_DIR)"

## .sqlx/ must match the queries and the migrations: regenerate it from a fresh migrated
## database into a temporary folder and compare
check-sqlx:
	@$(ENV) scripts/sqlx-data.sh check

## benchmarks (after make build): pages at 10k and 1M log rows beside their floors, the
## bundle, time to interactive; prints a table and writes docs/benchmarks.md (BENCH_SIZES)
bench:
	@$(ENV) scripts/bench.sh "$(TARGET_DIR)"

## benchmark, the engine's part of make bench alone (prints JSON lines): sync throughput and
## peak RSS at 1,000 and 100,000 companies beside the UNNEST floor; orchestrator overhead
bench-engine:
	@$(ENV) scripts/bench/engine.sh

## regenerate .sqlx/ (after changing a query or a migration), then commit it
sqlx-prepare:
	@$(ENV) scripts/sqlx-data.sh write

## formatting only (seconds)
lint-fast:
	@$(ENV) cargo fmt --all -- --check

## rustfmt, and clippy with -D warnings on both feature sets (server + wasm)
lint: lint-fast
	@$(ENV) cargo clippy --workspace --exclude frontend --features app/ssr --all-targets -- -D warnings
	@$(ENV) cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown $$PORTAL_LIB_CARGO_ARGS -- -D warnings

fmt:
	@$(ENV) cargo fmt --all

## stop the private Postgres cluster under .data/pg, if scripts/db.sh started one
db-stop:
	@if [ -f .data/pg/postmaster.pid ]; then \
	  BIN=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); \
	  if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- $$BIN/pg_ctl -D .data/pg stop -m fast; \
	  else $$BIN/pg_ctl -D .data/pg stop -m fast; fi; \
	else echo "no private cluster running"; fi
