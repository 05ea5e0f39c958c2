#!/usr/bin/env bash
# Runs every ```console block of the given Markdown files: the line after "$ " is
# a command (with `advlab` meaning the binary under test), continued by the lines
# right after it that start with "> " (the shell's PS2, as a terminal shows a
# command typed over several lines), the rest of the block its exact expected
# output. Documentation examples cannot drift from the tool.
# Each command runs with cwd a fresh temporary directory (shared by the blocks of
# one invocation, so a block may read a file an earlier one wrote) that holds a
# symlink `experiments` to the source tree's experiments/ folder, so commands may
# name presets and claims by relative path (experiments/presets/flagship.ini) as a
# user does from the repo root.
#   doc_examples_test.sh path/to/advlab doc.md [doc.md ...]
set -u
ADVLAB=${1:?advlab binary}; shift
SRC=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
[ -d "$SRC/experiments" ] || { echo "FAIL: no experiments/ folder in $SRC"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/doc_examples.$$.XXXXXX"); trap 'rm -rf "$T"' EXIT
ln -s "$(readlink -f "$ADVLAB")" "$T/advlab"
ln -s "$SRC/experiments" "$T/experiments"
export PATH="$T:$PATH"
fails=0 count=0
for doc in "$@"; do
  # in_block: inside a console block; in_cmd: the command may still continue;
  # have_out: an output line was read (the first one may be empty).
  in_block=0 in_cmd=0 have_out=0 cmd="" expected=""
  while IFS= read -r line || [ -n "$line" ]; do
    if [ $in_block -eq 0 ]; then
      [ "$line" = '```console' ] && { in_block=1; in_cmd=0; have_out=0; cmd=""; expected=""; }
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
      cmd=${line#\$ } in_cmd=1
    elif [ $in_cmd -eq 1 ] && [ "${line#> }" != "$line" ]; then
      cmd="$cmd"$'\n'"${line#> }"   # a continuation line of the command (PS2 "> ")
    elif [ $have_out -eq 0 ]; then
      expected=$line in_cmd=0 have_out=1
    else
      expected="$expected"$'\n'"$line"
    fi
  done <"$doc"
done
[ $count -gt 0 ] || { echo "FAIL: no examples found"; exit 1; }
[ $fails -eq 0 ] || { echo "$fails of $count examples differ"; exit 1; }
echo "doc_examples_test: $count examples match"
