# Shared by the CLI test scripts (source it): a scratch folder, failure counting,
# and the check every bad input must pass: exit status 2 and exactly one stderr
# line, "advlab: error: ...", containing the expected text.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
# Debian's python3-h5py belongs to the system interpreter.
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# check_error RC PATTERN GREP_FLAGS DESCRIPTION...: the command just run exited
# with RC and left its stderr in $T/stderr. GREP_FLAGS: -F for a fixed string,
# -G for a basic regular expression (the pattern always goes through -e, so one
# starting with "--" is not read as an option).
check_error() {
  local rc=$1 pattern=$2 flags=$3
  shift 3
  local lines
  lines=$(wc -l <"$T/stderr")
  [ "$rc" -eq 2 ] || fail "exit $rc (want 2): $*"
  [ "$lines" -eq 1 ] || { fail "stderr has $lines lines (want 1): $*"; cat "$T/stderr"; }
  grep -q '^advlab: error: ' "$T/stderr" || { fail "stderr lacks 'advlab: error: ': $*"; cat "$T/stderr"; }
  grep -q "$flags" -e "$pattern" "$T/stderr" || { fail "stderr lacks '$pattern': $*"; cat "$T/stderr"; }
}
