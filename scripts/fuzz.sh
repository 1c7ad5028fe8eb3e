#!/bin/sh
# Runs every native Go fuzz target in the repository for a bounded time.
#
#   ./scripts/fuzz.sh [FUZZTIME]      FUZZTIME defaults to 30s (go test -fuzztime syntax, e.g. 1m or 5000x)
#
# The seed corpora (testdata/fuzz/<Target>/) already run as ordinary tests in
# `make test`; this script explores beyond them. New failing inputs are written
# by go test into the package's testdata/fuzz/<Target>/ directory: commit them
# with the fix. Exits non-zero if any target fails; runs the others regardless.
set -u

fuzztime="${1:-30s}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1

# "<dir> <target>" for every `func FuzzXxx(f *testing.F)` in a _test.go file.
targets="$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . \
	| sed -E 's#^\./##; s#/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($# \1#; s#^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#. \1#' \
	| sort -u)"

if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

failed=""
count=0
echo "$targets" | {
	while read -r dir target; do
		count=$((count + 1))
		echo "==> ./$dir $target (fuzztime $fuzztime)"
		if ! go test -tags duckdb_arrow -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"; then
			failed="$failed ./$dir:$target"
		fi
	done
	if [ -n "$failed" ]; then
		echo "fuzz: FAILED:$failed" >&2
		exit 1
	fi
	echo "fuzz: $count targets passed"
}
