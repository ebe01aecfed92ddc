#!/usr/bin/env bash
# Alternates `run.sh` between builds on one box, so that a change is compared with its
# baseline under the same drift of the host (see docs/performance.md, machine D).
# Usage: crates/sluice-server/benches/load/ab.sh memory|sqlite ROUNDS BIN_A BIN_B [BIN ...]
# (from the repository root; each BIN a `sluice` binary, such as a copy of target/release/sluice
# built at each commit). Prints one line per run: requests/s, p50, p99, server CPU per request
# peak RSS and the host's reference loop time, then each build's mean requests/s.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 memory|sqlite ROUNDS BIN_A BIN_B [BIN ...]" >&2; exit 2; }
store_kind=$1 rounds=$2
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
declare -A total
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    out=$(SLUICE_BIN="$bin" SKIP_ENDPOINTS=1 "$here/run.sh" "$store_kind" 2>&1)
    rate=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    total[$bin]=$(awk -v t="${total[$bin]:-0}" -v r="$rate" 'BEGIN {print t + r}')
    echo "round $round $bin: $rate req/s, p50 $(awk '/ 50%/ {print $2}' <<<"$out")," \
      "p99 $(awk '/ 99%/ {print $2}' <<<"$out"), $(grep -o '[0-9]* µs' <<<"$out" | head -1) per request," \
      "peak RSS $(grep -o 'VmHWM:[^k]*' <<<"$out" | grep -o '[0-9][0-9]*') kB," \
      "host loop $(awk '/Python loop/ {print $(NF-1)}' <<<"$out") s"
  done
done
for bin in "$@"; do
  awk -v t="${total[$bin]}" -v n="$rounds" -v b="$bin" 'BEGIN {printf "%s: mean %.0f req/s over %d runs\n", b, t / n, n}'
done
