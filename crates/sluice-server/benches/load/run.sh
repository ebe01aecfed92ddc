#!/usr/bin/env bash
# Load test of `sluice serve` with wrk on loopback (see docs/performance.md).
# Usage: crates/sluice-server/benches/load/run.sh [memory|sqlite]   (from the repository root)
set -euo pipefail
store_kind="${1:-memory}"
shift || true   # further arguments go to `sluice serve` (such as --no-run-details)
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export TOKEN=load-test-token USERS=5000 COMPONENT="$here/component.json"
cargo build --release -q -p sluice-cli
python3 -c "import json; print(json.dumps([{'userName': f'user{i}'} for i in range(1, $USERS + 1)]))" > "$work/users.json"
case "$store_kind" in
  memory) store=memory: ;;
  sqlite) store="sqlite:$work/sluice.db" ;;
  *) echo "usage: $0 [memory|sqlite]" >&2; exit 2 ;;
esac
port=18181
SLUICE_ADMIN_TOKENS="$TOKEN" ./target/release/sluice serve --addr "127.0.0.1:$port" --store "$store" \
  --users "$work/users.json" "$@" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -fs -X PUT -H "Authorization: Bearer $TOKEN" --data-binary @"$COMPONENT" \
  "http://127.0.0.1:$port/api/components/ForTestCodeDemo" >/dev/null
echo "== execute GetCode, 64 connections, $store_kind store"
wrk -t2 -c64 -d10s --latency -s "$here/execute.lua" \
  "http://127.0.0.1:$port/api/components/ForTestCodeDemo/dataflows/GetCode/execute"
echo "== refused requests: $(grep -c . "$work/server.log" || true) log lines"; tail -3 "$work/server.log"
echo "== server memory: $(grep -E 'VmHWM|VmRSS' /proc/$server/status | tr -s ' ' | tr '\n' ' ')"
echo "== GET /api/steps, 1 connection"
wrk -t1 -c1 -d5s --latency "http://127.0.0.1:$port/api/steps?lang=fr" | grep -E "50%|99%|Requests/sec"
echo "== POST /api/validate, 1 connection"
wrk -t1 -c1 -d5s --latency -s "$here/validate.lua" "http://127.0.0.1:$port/api/validate" | grep -E "50%|99%|Requests/sec"
