#!/bin/sh
# Applies revert-seed-fix.patch to a scratch copy of the module and runs the
# stress tests there. The seed fix is shown to matter when they fail (or
# hang): this script then exits 0. It exits 1 if the reverted code passes.
#
# Usage: statemachine/testdata/run-seed-fix-reverted.sh [extra go test flags]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/go.mod" "$root/go.sum" "$root/drbd" "$root/actlog" "$root/statemachine" "$scratch/"
cd "$scratch"
patch -s -p1 < statemachine/testdata/revert-seed-fix.patch
if CGO_ENABLED=1 go test -race -count=1 -run 'TestStress' -v ./statemachine/ -stress.hang="${HANG:-30s}" "$@" >"$scratch/out" 2>&1; then
	cat "$scratch/out"
	echo "seed fix reverted, but the stress tests PASSED: they do not guard the fix" >&2
	exit 1
fi
grep -v '^\s*/' "$scratch/out" | head -80
if ! grep -q -- '--- FAIL: TestStress' "$scratch/out"; then
	echo "the stress tests did not run to a verdict (build or setup failure?)" >&2
	exit 2
fi
echo "seed fix reverted: the stress tests failed, as they must"
