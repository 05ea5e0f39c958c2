#!/usr/bin/env bash
# A sweep survives any interruption (docs/sweeps.md): killed with SIGKILL at
# random points and resumed each time, it writes the same bytes as an
# uninterrupted sweep; a torn or damaged journal tail is dropped and made
# again; a journal of another grid or advlab version is refused in one line;
# --restart discards it; SIGINT/SIGTERM stop gracefully (exit 130/143) with
# the command that resumes; progress goes to stderr, plain lines in a log,
# nothing with --quiet.
#   resume_test.sh ADVLAB [SEED]   (SEED: the random kill points; printed)
set -u
ADVLAB=${1:?usage: resume_test.sh ADVLAB [SEED]}
SEED=${2:-${RESUME_TEST_SEED:-13}}
. "$(dirname "$0")/cli_lib.sh"
# Background sweeps get SIGINT: a script's jobs otherwise ignore it, and so
# does a test started with SIGINT ignored (advlab then keeps ignoring it, as
# any program does).
set -m
DEFAULT_INT=()
env --default-signal=INT true 2>/dev/null && DEFAULT_INT=(env --default-signal=INT)
echo "resume_test: kill points from seed $SEED"
RANDOM=$SEED

# 100 runs of about 10 ms each (2 threads: about a second in all).
COMMON=(sweep --env.name=choice --train.eval_every=50 --threads 2)
SWEEP=("${COMMON[@]}" --train.steps=400 --grid optim.lr=1,2 --seeds 50)
sweep() { "$ADVLAB" "${SWEEP[@]}" "$@" >/dev/null; }
# bg LOG ARGS...: the sweep in the background (as itself: $! is advlab's pid).
bg() {
  local log=$1
  shift
  "${DEFAULT_INT[@]}" "$ADVLAB" "${SWEEP[@]}" "$@" >/dev/null 2>"$log" &
}

sweep --out "$T/ref.h5" --quiet 2>"$T/stderr" || fail "uninterrupted sweep: $(cat "$T/stderr")"
[ -s "$T/stderr" ] && fail "--quiet sweep wrote to stderr: $(cat "$T/stderr")"
[ -e "$T/ref.h5.journal" ] && fail "the journal outlived a finished sweep"
REF_DIGEST=$("$ADVLAB" digest "$T/ref.h5" | cut -d' ' -f1)

# same FILE WHAT: FILE has the reference bytes and digest.
same() {
  cmp -s "$T/ref.h5" "$1" || fail "$2: $1 differs from the uninterrupted sweep's bytes"
  [ "$("$ADVLAB" digest "$1" | cut -d' ' -f1)" = "$REF_DIGEST" ] || fail "$2: digest differs"
  [ -e "$1.journal" ] && fail "$2: the journal outlived the file"
}

# SIGKILL at random points (one very early: planning or the journal's creation).
kills=0
for i in 1 2 3 4 5; do
  if [ $i -eq 1 ]; then ms=5; else ms=$((60 + RANDOM % 200)); fi
  bg "$T/kill$i.log" --out "$T/k.h5" --quiet
  pid=$!
  sleep "$(printf '0.%03d' $ms)"
  kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  echo "  kill $i after ${ms} ms: journal $(stat -c %s "$T/k.h5.journal" 2>/dev/null || echo absent)"
done
[ $kills -ge 3 ] || fail "only $kills of the kills hit a running sweep"
sweep --out "$T/k.h5" 2>"$T/stderr" || fail "resume after SIGKILL: $(cat "$T/stderr")"
grep -q "resuming from $T/k.h5.journal: [0-9]* of 100 runs done" "$T/stderr" ||
  fail "no resume note: $(cat "$T/stderr")"
same "$T/k.h5" "SIGKILL x$kills"

# SIGINT: the runs in flight finish, exit 130, the command that resumes.
ADVLAB_PROGRESS_SECONDS=0.2 bg "$T/i.log" --out "$T/i.h5"
pid=$!
sleep 0.4
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc (want 130)"
grep -q "stopped by SIGINT: [0-9]* of 100 runs done, kept in $T/i.h5.journal; resume with:" "$T/i.log" ||
  fail "SIGINT: no stop message: $(cat "$T/i.log")"
grep -q -- "--out $T/i.h5\$" "$T/i.log" || fail "SIGINT: no resume command: $(cat "$T/i.log")"
grep -q '^advlab: [0-9]*/100 runs, .* rollouts/s, .* elapsed, ETA ' "$T/i.log" ||
  fail "no plain progress line in a log: $(cat "$T/i.log")"
[ -e "$T/i.h5" ] && fail "SIGINT: wrote the file"
for name in torn damaged grid version restart; do cp "$T/i.h5.journal" "$T/$name.h5.journal"; done

sweep --out "$T/i.h5" --quiet 2>"$T/stderr" || fail "resume after SIGINT: $(cat "$T/stderr")"
[ -s "$T/stderr" ] && fail "--quiet resume wrote to stderr: $(cat "$T/stderr")"
same "$T/i.h5" "SIGINT"

# A torn last record (a write cut short) is dropped and its run made again.
truncate -s -5 "$T/torn.h5.journal"
sweep --out "$T/torn.h5" 2>"$T/stderr" || fail "resume of a torn journal: $(cat "$T/stderr")"
grep -q "torn.h5.journal: dropped a torn last record" "$T/stderr" || fail "torn: $(cat "$T/stderr")"
same "$T/torn.h5" "torn last record"

# A damaged record in the middle: it and every record after it are dropped and made again.
size=$(stat -c %s "$T/damaged.h5.journal")
printf '\x5a' | dd of="$T/damaged.h5.journal" bs=1 seek=$((size / 2)) conv=notrunc status=none
sweep --out "$T/damaged.h5" 2>"$T/stderr" || fail "resume of a damaged journal: $(cat "$T/stderr")"
grep -q "damaged.h5.journal: dropped a damaged record and all after it" "$T/stderr" ||
  fail "damaged: $(cat "$T/stderr")"
same "$T/damaged.h5" "damaged middle record"

# Another sweep's journal: refused in one line naming the difference.
"$ADVLAB" "${SWEEP[@]/optim.lr=1,2/optim.lr=1,3}" --out "$T/grid.h5" >/dev/null 2>"$T/stderr"
check_error $? "grid.h5.journal: made by a different sweep: grid optim.lr = 1,2 there, 1,3 here; give --restart" -F "changed grid"
"$ADVLAB" "${COMMON[@]}" --train.steps=400 --grid optim.lr=1,2 --seeds 40 --out "$T/grid.h5" >/dev/null 2>"$T/stderr"
check_error $? "made by a different sweep: runs = 100 there, 80 here" -F "changed seeds"
version=$("$ADVLAB" version | sed -n 's/^advlab //p')
other=${version%?}x
printf '%s' "$other" | dd of="$T/version.h5.journal" bs=1 seek=16 conv=notrunc status=none
sweep --out "$T/version.h5" 2>"$T/stderr"
check_error $? "version.h5.journal: made by advlab $other, this is advlab $version" -F "changed version"
[ -e "$T/version.h5" ] && fail "a refused resume wrote its file"

# --restart discards it (and a changed grid then runs).
"$ADVLAB" "${SWEEP[@]/optim.lr=1,2/optim.lr=1,3}" --out "$T/grid.h5" --restart >/dev/null 2>"$T/stderr" ||
  fail "--restart: $(cat "$T/stderr")"
grep -q "discarded the old $T/grid.h5.journal" "$T/stderr" || fail "--restart note: $(cat "$T/stderr")"
[ -e "$T/grid.h5.journal" ] && fail "--restart: the journal outlived the file"
sweep --out "$T/restart.h5" --restart 2>/dev/null || fail "--restart of the same sweep"
same "$T/restart.h5" "--restart"

# SIGTERM: exit 143; two SIGINTs: exit at once, still resumable.
bg "$T/t.log" --out "$T/t.h5" --quiet
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc (want 143)"
grep -q "stopped by SIGTERM" "$T/t.log" || fail "SIGTERM: $(cat "$T/t.log")"
sweep --out "$T/t.h5" 2>/dev/null || fail "resume after SIGTERM"
same "$T/t.h5" "SIGTERM"
# Runs of ~1 s, so the second SIGINT lands while they are in flight.
LONG=(sweep --env.name=choice --threads 2 --train.steps=20000 --train.eval_every=1000 --grid optim.lr=1,2 --seeds 3)
"${DEFAULT_INT[@]}" "$ADVLAB" "${LONG[@]}" --out "$T/ii.h5" --quiet >/dev/null 2>"$T/ii.log" &
pid=$!
sleep 0.3
kill -INT $pid
# Two pending SIGINTs coalesce into one: send the second once the first was seen.
for _ in $(seq 200); do grep -q "interrupted" "$T/ii.log" && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "two SIGINTs: exit $rc (want 130)"
grep -q "stopped at once" "$T/ii.log" || fail "two SIGINTs: $(cat "$T/ii.log")"
"$ADVLAB" "${LONG[@]}" --out "$T/ii.h5" --quiet >/dev/null 2>"$T/stderr" ||
  fail "resume after two SIGINTs: $(cat "$T/stderr")"

# An existing file still needs --force, journal or not.
sweep --out "$T/ref.h5" 2>"$T/stderr"
check_error $? "ref.h5: output file exists; pass --force to overwrite" -F "existing output"

[ $fails -eq 0 ] && echo "resume_test: all passed"
exit $((fails > 0))
