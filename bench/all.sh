#!/usr/bin/env bash
# All the benchmarks, one after the other, as BENCHMARKS.md reports them.
# Usage: bench/all.sh [postgresql://…]   (default: postgresql://root@127.0.0.1:5432/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-postgresql://root@127.0.0.1:5432/bench}"
python=".venv/bin/python"
echo "## Ack latency"; $python -m bench.ack_latency --requests 400 --database-url "$url"; echo
echo "## /cop status CPU"; $python -m bench.status --database-url "$url"; echo
echo "## Reminder dispatch"; $python -m bench.dispatch --database-url "$url"; echo
echo "## 500 joins in 10 seconds"; $python -m bench.joins --database-url "$url"; echo
echo "## Resident memory"; $python -m bench.memory --database-url "$url"
