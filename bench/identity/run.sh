#!/usr/bin/env bash
# Runs the identity-resolution benchmark: Aloft (release build) and Splink (DuckDB) on the same
# FEBRL files, one after the other on this machine. Installs Splink into a venv if needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${SPLINK_VENV:-/tmp/splink-venv}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import splink, pandas" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet splink pandas
fi
echo "== Aloft"
cargo run --release --quiet -p aloft-identity --example febrl_bench -- --repeat=5
echo
echo "== Splink"
"$VENV/bin/python" bench/identity/splink_febrl.py --repeat 3
