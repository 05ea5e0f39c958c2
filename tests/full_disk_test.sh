#!/usr/bin/env bash
# A full disk mid-sweep (docs/sweeps.md, "What each signal does"): on a small
# tmpfs, a sweep that fills it while appending to its journal, and one that
# fills it while writing the final file, each end with one line naming the
# path and exit 2; the previous complete output stays as it was, no temp file
# is left, and once there is room the same command resumes and writes the
# bytes of an uninterrupted sweep. Needs root (mount); skipped (77) without.
#   full_disk_test.sh ADVLAB
set -u
ADVLAB=${1:?usage: full_disk_test.sh ADVLAB}
. "$(dirname "$0")/cli_lib.sh"
D="$T/disk"
mkdir -p "$D"
if ! mount -t tmpfs -o size=300k tmpfs "$D" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)"
  exit 77
fi
trap 'umount "$D" 2>/dev/null; rm -rf "$T"' EXIT
remount() { mount -o remount,size="$1" "$D" || fail "remount to $1"; }

OLD=(sweep --env.name=choice --train.steps=200 --grid optim.lr=1,2 --seeds 2 --quiet)
NEW=(sweep --env.name=choice --train.steps=400 --train.eval_every=10 --grid optim.lr=1,2 --seeds 30 --quiet)
"$ADVLAB" "${NEW[@]}" --out "$T/ref.h5" >/dev/null 2>&1 || fail "the reference sweep"
"$ADVLAB" "${OLD[@]}" --out "$D/s.h5" >/dev/null 2>&1 || fail "the old sweep on the tmpfs"
cp "$D/s.h5" "$T/old.h5"

# 1. The journal fills the disk.
"$ADVLAB" "${NEW[@]}" --out "$D/s.h5" --force >/dev/null 2>"$T/stderr"
check_error $? "$D/s.h5.journal: cannot append to the journal: No space left on device" -F \
  "a full disk while appending to the journal"
cmp -s "$D/s.h5" "$T/old.h5" || fail "the previous output changed"
ls "$D"/*.tmp.* >/dev/null 2>&1 && fail "a temp file was left: $(ls "$D")"
[ -s "$D/s.h5.journal" ] || fail "no journal to resume from"
remount 4m
"$ADVLAB" "${NEW[@]}" --out "$D/s.h5" --force >/dev/null 2>"$T/stderr" || fail "resume: $(cat "$T/stderr")"
cmp -s "$D/s.h5" "$T/ref.h5" || fail "the resumed sweep differs from an uninterrupted one"

# 2. The final file fills the disk: the journal fits, the file does not.
cp "$T/old.h5" "$D/s.h5"
"$ADVLAB" "${NEW[@]}" --out "$T/probe.h5" >/dev/null 2>&1
journal_kb=$(( $(stat -c %s "$T/ref.h5") / 1024 ))  # about the journal's size too
remount $(( 40 + journal_kb + journal_kb / 3 ))k
"$ADVLAB" "${NEW[@]}" --out "$D/s.h5" --force >/dev/null 2>"$T/stderr"
rc=$?
if [ -e "$D/s.h5.journal" ] && [ "$rc" -ne 0 ]; then
  check_error $rc "$D/s.h5" -F "a full disk while writing the final file"
  cmp -s "$D/s.h5" "$T/old.h5" || fail "the previous output changed (final write)"
  ls "$D"/*.tmp.* >/dev/null 2>&1 && fail "a temp file was left: $(ls "$D")"
  remount 4m
  "$ADVLAB" "${NEW[@]}" --out "$D/s.h5" --force >/dev/null 2>"$T/stderr" || fail "resume 2: $(cat "$T/stderr")"
  cmp -s "$D/s.h5" "$T/ref.h5" || fail "the resumed sweep (final write) differs"
else
  fail "case 2 did not fill the disk at the final write (rc $rc; $(ls -la "$D" | tr '\n' ' '))"
fi

[ "$fails" -eq 0 ] && echo "full_disk_test: passed" && exit 0
echo "full_disk_test: $fails failure(s)"
exit 1
