#!/usr/bin/env bash
# Runs every ```console block of the given Markdown files: the line after "$ " is
# a command (with `advlab` meaning the binary under test), the rest of the block
# its exact expected output. Documentation examples cannot drift from the tool.
#   doc_examples_test.sh path/to/advlab doc.md [doc.md ...]
set -u
ADVLAB=${1:?advlab binary}; shift
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ln -s "$(readlink -f "$ADVLAB")" "$T/advlab"
export PATH="$T:$PATH"
fails=0 count=0
for doc in "$@"; do
  in_block=0 cmd="" expected=""
  while IFS= read -r line || [ -n "$line" ]; do
    if [ $in_block -eq 0 ]; then
      [ "$line" = '```console' ] && { in_block=1; cmd=""; expected=""; }
      continue
    fi
    if [ "$line" = '```' ]; then
      in_block=0
      [ -z "$cmd" ] && continue
      count=$((count + 1))
      actual=$(cd "$T" && bash -c "$cmd" 2>&1)
      if [ "$actual" != "$expected" ]; then
        fails=$((fails + 1))
        echo "FAIL: $doc: $cmd"
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | head -20
      fi
      continue
    fi
    if [ -z "$cmd" ] && [ "${line#\$ }" != "$line" ]; then
      cmd=${line#\$ }
    elif [ -z "$expected" ]; then
      expected=$line
    else
      expected="$expected"$'\n'"$line"
    fi
  done <"$doc"
done
[ $count -gt 0 ] || { echo "FAIL: no examples found"; exit 1; }
[ $fails -eq 0 ] || { echo "$fails of $count examples differ"; exit 1; }
echo "doc_examples_test: $count examples match"
