#!/usr/bin/env bash
# Load test of `sluice serve` with wrk on loopback (see docs/performance.md).
# Usage: crates/sluice-server/benches/load/run.sh [memory|sqlite|postgres|postgres2]   (from the repository root)
# postgres: one replica on SLUICE_BENCH_POSTGRES (default: the local test database, schema
# sluice_load, emptied first); postgres2: two replicas on it, wrk with 32 connections on each.
# RATES="2000 5000" adds, after the saturation run, an open-loop run at each fixed rate with
# oha (`cargo install oha`; latency corrected for coordinated omission): the latency a client
# sees below saturation. USERS=N sets the number of users (default 5,000). SLUICE_BIN=path
# runs that binary instead of building this checkout's (to alternate two builds on one box). After each load it prints the server's CPU time per
# request (user + system, from /proc), which does not depend on how much of the cores wrk takes,
# and the servers' context switches per request; before the load, the time of a Python loop,
# the host's speed at that moment.
# SKIP_ENDPOINTS=1 leaves out the catalog and validate runs (as ab.sh does).
set -euo pipefail
store_kind="${1:-memory}"
shift || true   # further arguments go to `sluice serve` (such as --no-run-details)
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export TOKEN=load-test-token USERS=${USERS:-5000} COMPONENT="$here/component.json"
bin="${SLUICE_BIN:-}"
[ -n "$bin" ] || { cargo build --release -q -p sluice-cli; bin=./target/release/sluice; }
python3 -c "import json; print(json.dumps([{'userName': f'user{i}'} for i in range(1, $USERS + 1)]))" > "$work/users.json"
pg="${SLUICE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
case "$store_kind" in
  memory) store=memory: ;;
  sqlite) store="sqlite:$work/sluice.db" ;;
  postgres|postgres2)
    psql "$pg" -qc "DROP SCHEMA IF EXISTS sluice_load CASCADE"
    store="$pg?schema=sluice_load"
    export SLUICE_SECRET=load-test-secret-0123456789abcdef0123 ;;
  *) echo "usage: $0 [memory|sqlite|postgres|postgres2]" >&2; exit 2 ;;
esac
port=18181
ports=("$port")
[ "$store_kind" = postgres2 ] && ports=(18181 18182)
servers=()
for p in "${ports[@]}"; do
  SLUICE_ADMIN_TOKENS="$TOKEN" "$bin" serve --addr "127.0.0.1:$p" --store "$store" \
    --users "$work/users.json" "$@" 2>>"$work/server.log" &
  servers+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
done
server=${servers[0]}
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
curl -fs -X PUT -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" --data-binary @"$COMPONENT" \
  "http://127.0.0.1:$port/api/components/ForTestCodeDemo" >/dev/null
# CPU time of the servers so far, in clock ticks.
cpu() { for s in "${servers[@]}"; do awk '{print $14 + $15}' "/proc/$s/stat"; done | awk '{t += $1} END {print t}'; }
per_request() { awk -v t="$(( $(cpu) - $1 ))" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}'; }
# Context switches of the servers' threads so far: voluntary (waits) and involuntary (preempted).
switches() { for s in "${servers[@]}"; do cat /proc/"$s"/task/*/status; done |
  awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}'; }
commits() { [ "${store_kind#postgres}" = "$store_kind" ] || psql "$pg" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
# The host's speed at this moment: hosts of one kind differ, and drift, by up to 2x
# (docs/performance.md, machines); the same loop is the reference there.
loop_time=$(python3 -c "
import time
t = time.perf_counter()
x = 0
for i in range(10_000_000): x += i
print(f'{time.perf_counter() - t:.2f}')")
echo "== host: a 10-million-step Python loop takes $loop_time s"
before=$(commits)
cpu_before=$(cpu)
read -r voluntary involuntary < <(switches)
connections=$(( 64 / ${#ports[@]} ))
echo "== execute GetCode, 64 connections over ${#ports[@]} server(s), $store_kind store"
wrks=()
for p in "${ports[@]}"; do
  wrk -t2 -c"$connections" -d10s --latency -s "$here/execute.lua" \
    "http://127.0.0.1:$p/api/components/ForTestCodeDemo/dataflows/GetCode/execute" > "$work/wrk-$p.txt" &
  wrks+=($!)
done
wait "${wrks[@]}"
cat "$work"/wrk-*.txt
requests=$(awk '/requests in/ {n += $1} END {print n}' "$work"/wrk-*.txt)
echo "== server CPU per request: $(per_request "$cpu_before" "$requests") µs"
read -r voluntary_after involuntary_after < <(switches)
awk -v v=$(( voluntary_after - voluntary )) -v i=$(( involuntary_after - involuntary )) -v n="$requests" \
  'BEGIN {printf "== context switches per request: %.2f voluntary, %.2f involuntary\n", v / n, i / n}'
if [ -n "$before" ]; then
  runs=$(psql "$pg" -Atc "SELECT count(*) FROM sluice_load.runs")
  echo "== database transactions per run: $(( ($(commits) - before) )) / $runs runs"
fi
# After the CPU and transaction readings, so that reading the run history is not counted
# as the load's.
if grep -q "Non-2xx" "$work"/wrk-*.txt; then
  echo "== why runs failed, among the last 1,000 (from the run history):"
  curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/runs?component=ForTestCodeDemo&limit=1000" \
    | python3 -c "import collections, json, sys
failed = collections.Counter(r.get('message') for r in json.load(sys.stdin) if r['status'] != 'ok')
for message, n in failed.most_common(5): print(f'   {n} x {message}')"
fi
for rate in ${RATES:-}; do
  python3 -c "import json, random; [print(json.dumps({'data': {'UserName': f'user{random.randint(1, $USERS)}'}})) for _ in range(20000)]" > "$work/bodies.txt"
  echo "== execute GetCode at a fixed $rate requests/s, 64 connections (oha, open loop)"
  cpu_before=$(cpu)
  oha -z 10s -c 64 -q "$rate" --latency-correction --no-tui -m POST -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: application/json" -Z "$work/bodies.txt" \
    "http://127.0.0.1:$port/api/components/ForTestCodeDemo/dataflows/GetCode/execute" \
    | grep -E "Success rate|Requests/sec| (50\.00|99\.00|99\.90)% in"
  echo "   server CPU per request: $(per_request "$cpu_before" $(( rate * 10 ))) µs"
done
echo "== refused requests: $(grep -c . "$work/server.log" || true) log lines"; tail -3 "$work/server.log"
echo "== server memory: $(grep -E 'VmHWM|VmRSS' /proc/$server/status | tr -s ' ' | tr '\n' ' ')"
[ -z "${SKIP_ENDPOINTS:-}" ] || exit 0
echo "== GET /api/steps, 1 connection"
wrk -t1 -c1 -d5s --latency "http://127.0.0.1:$port/api/steps?lang=fr" | grep -E "50%|99%|Requests/sec"
echo "== POST /api/validate, 1 connection"
wrk -t1 -c1 -d5s --latency -s "$here/validate.lua" "http://127.0.0.1:$port/api/validate" | grep -E "50%|99%|Requests/sec"
