#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), two at a time, keeping the corpora in
# fuzz/corpus/ and the final statistics in fuzz/logs/. See fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
mkdir -p logs
run() {
  cargo fuzz run --sanitizer none "$1" "corpus/$1" -- -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 > "logs/$1.log" 2>&1
  echo "$1: exit $?"
}
targets=(component_load script_step template_render code_normalize execute_body http_request)
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  [ -n "${targets[i + 1]:-}" ] && run "${targets[i + 1]}" &
  wait
done
