#!/usr/bin/env bash
# Runs every Aloft test on this machine: formatting and lints, Rust unit and integration tests on
# both storage backends (embedded SQLite and the real PostgreSQL at 127.0.0.1:5432) and against the
# real NATS JetStream at 127.0.0.1:4222, then browser tests (Debian's headless Chromium driven by
# playwright-core, every page checked by axe-core). Installs what it needs; never mocks a service.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

say "Local services"
if ! port_open 5432; then
  echo "PostgreSQL is not running; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! port_open 4222; then
  echo "NATS is not running; starting it with JetStream"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
for i in $(seq 1 30); do port_open 5432 && port_open 4222 && break; sleep 1; done
port_open 5432 || { echo "PostgreSQL did not come up on 127.0.0.1:5432"; exit 1; }
port_open 4222 || { echo "NATS did not come up on 127.0.0.1:4222"; exit 1; }
echo "PostgreSQL and NATS are up"

say "Browser test prerequisites"
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

say "Python test peers"
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
# DuckDB reads the lake export's Parquet files back (tests/lake.rs).
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet duckdb
# pycanon checks k-anonymity and l-diversity of partner shares independently (tests/privacy_sharing.rs).
python3 -c 'import pycanon' 2>/dev/null || python3 -m pip install --quiet pycanon

say "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

say "Supply chain (cargo deny: licences, banned crates, sources; see deny.toml)"
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install --locked --quiet cargo-deny --no-default-features
fi
# cargo deny reads the metadata of every platform's dependencies: fetch them first (crates.io).
cargo fetch --quiet
cargo deny --offline check licenses bans sources

say "Rust tests (SQLite and PostgreSQL, NATS JetStream)"
export ALOFT_TEST_BACKENDS="${ALOFT_TEST_BACKENDS:-sqlite,postgres}"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast
fi

say "Browser tests (headless Chromium + axe-core)"
cargo build --quiet -p aloft --bin aloft
ALOFT_BIN="$PWD/target/debug/aloft" node tests/browser/run.mjs
