#!/usr/bin/env bash
# All the benchmarks, one after the other, as BENCHMARKS.md reports them.
# Usage: bench/all.sh [postgresql://… | sqlite]   (default: postgresql://root@127.0.0.1:5432/bench;
# `sqlite` runs each against a SQLite file of its own)
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-postgresql://root@127.0.0.1:5432/bench}"
db=(--database-url "$url")
if [ "$url" = sqlite ]; then db=(); fi
python=".venv/bin/python"
echo "## Ack latency"; $python -m bench.ack_latency --requests 400 "${db[@]}"; echo
echo "## /cop status CPU"; $python -m bench.status "${db[@]}"; echo
echo "## Stage form save CPU"; $python -m bench.save "${db[@]}"; echo
echo "## Reminder dispatch"; $python -m bench.dispatch "${db[@]}"; echo
echo "## 500 joins in 10 seconds"; $python -m bench.joins "${db[@]}"; echo
echo "## Resident memory"; $python -m bench.memory "${db[@]}"
