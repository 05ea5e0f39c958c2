#!/usr/bin/env bash
# Compares this build's golden matrix (golden.sh) with tests/golden/digests.txt.
# A commit that moves a bit on purpose regenerates the file and says why:
#   tests/golden/golden.sh build/advlab > tests/golden/digests.txt
set -eu
ADVLAB=${1:?usage: golden_test.sh ADVLAB}
DIR=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$DIR/golden.sh" "$ADVLAB" > "$T/now.txt"
want=$(wc -l < "$DIR/digests.txt"); got=$(wc -l < "$T/now.txt")
if ! diff "$DIR/digests.txt" "$T/now.txt" > "$T/diff.txt"; then
  changed=$(grep -c '^>' "$T/diff.txt" || true)
  echo "FAIL: $changed of $want golden configs differ (< golden, > this build):"
  head -40 "$T/diff.txt"
  echo "If the change is on purpose, regenerate: tests/golden/golden.sh build/advlab > tests/golden/digests.txt"
  exit 1
fi
echo "golden_test: $got configs, every digest equal to tests/golden/digests.txt"
