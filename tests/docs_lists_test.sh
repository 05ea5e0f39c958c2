#!/usr/bin/env bash
# The docs that list what a table holds agree with the binary: docs/metrics.md
# holds `advlab list metrics` verbatim, and README.md names every metric.
#   docs_lists_test.sh ADVLAB SOURCE_DIR
set -eu
ADVLAB=${1:?advlab}; SRC=${2:?source dir}
fail=0
want=$("$ADVLAB" list metrics)
got=$(awk '/^<!-- advlab list metrics -->/{f=1; next} f && /^```$/{if (open) exit; open=1; next} f && open' \
  "$SRC/docs/metrics.md")
if [ "$want" != "$got" ]; then
  echo "FAIL: docs/metrics.md differs from \`advlab list metrics\`:"
  diff <(echo "$want") <(echo "$got") || true
  fail=1
fi
for m in $("$ADVLAB" list metrics | awk '{print $1}'); do
  grep -q "$m" "$SRC/README.md" || { echo "FAIL: README.md does not name metric $m"; fail=1; }
done
[ $fail = 0 ] && echo "docs_lists_test: docs/metrics.md and README.md agree with the metric table"
exit $fail
