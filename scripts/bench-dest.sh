#!/usr/bin/env bash
# Destination write throughput for a wide issues table (make bench includes
# this section in BENCHMARKS.md): each destination's Go benchmark, 3 runs,
# medians, beside DuckDB's own read_json ingest of the same rows.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${BENCH_DEST_RUNS:-3}"
out="$(mktemp)"
go test -tags duckdb_arrow -run '^$' -bench 'BenchmarkWriteIssues' -benchtime 5x -count "$runs" ./dest/duckdb/ >"$out" 2>&1
go test -tags duckdb_arrow -run '^$' -bench '^BenchmarkWrite$' -benchtime 3x -count "$runs" ./dest/parquet/ >>"$out" 2>&1

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m}'; }
rate() { # benchmark-name-regex → median rows/s
  grep -E "^$1" "$out" | awk '{for (i=1;i<=NF;i++) if ($(i+1)=="rows/s") print $i}' | median
}
ins=$(rate 'BenchmarkWriteIssues/arrow-insert')
upd=$(rate 'BenchmarkWriteIssues/arrow-update')
app=$(rate 'BenchmarkWriteIssues/appender')
rj=$(rate 'BenchmarkWriteIssues/read_json')
pq=$(rate 'BenchmarkWrite-|BenchmarkWrite ')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0 && a != "n/a") printf "%.2f×", a/b; else print "n/a" }'; }

cat <<MD

## Destination write throughput

\`scripts/bench-dest.sh\` (part of \`make bench\`): the destinations' own Go
benchmarks on a wide issues table (DuckDB: 60 columns in 5,000-row batches; Parquet: 45 columns), each
batch committed with its state, median of $runs runs, measured in the same run
as DuckDB's \`read_json\` ingest of the same rows written as JSON.

| Path | Rows/s | vs read_json |
|---|---:|---:|
| DuckDB destination, insert (Arrow view) | $ins | $(ratio "$ins" "$rj") |
| DuckDB destination, upsert of existing keys | $upd | $(ratio "$upd" "$rj") |
| DuckDB appender (staging alternative, not used) | $app | $(ratio "$app" "$rj") |
| Parquet destination, insert (pqarrow, zstd) | $pq | $(ratio "$pq" "$rj") |
| Reference: DuckDB \`read_json\` of the same rows | $rj | 1.00× |

Raw \`go test -bench\` output:

\`\`\`
$(grep -E '^Benchmark' "$out")
\`\`\`
MD
rm -f "$out"
