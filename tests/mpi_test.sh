#!/usr/bin/env bash
# `mpirun -n N advlab sweep` (docs/sweeps.md, "MPI"), on this machine: 2 and 3
# ranks, 1 and 2 threads each, write the bytes of `advlab sweep` alone (a grid
# and arms; `advlab run`); a rank killed with SIGKILL is reported in one line
# and the same command resumes to the same bytes (under mpirun or alone), as
# after SIGINT to rank 0 (exit 130) or SIGTERM to mpirun; a worker stopped
# alone leaves its runs to the others; bad input is one
# error line and exit 2 from every rank, never a hang.
#   mpi_test.sh ADVLAB MPIRUN
set -u
ADVLAB=${1:?usage: mpi_test.sh ADVLAB MPIRUN}
MPIRUN=${2:?usage: mpi_test.sh ADVLAB MPIRUN}
. "$(dirname "$0")/cli_lib.sh"
set -m  # background jobs keep SIGINT
# -q: no banners of mpirun's own; root needs --allow-run-as-root.
MPI=("$MPIRUN" -q --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
# mpi N ARGS...: advlab on N ranks, never longer than a minute.
mpi() {
  local n=$1
  shift
  timeout -k 5 60 "${MPI[@]}" -n "$n" "$ADVLAB" "$@"
}
# bg_mpi LOG N ARGS...: the same in the background; $job is mpirun's pid.
bg_mpi() {
  local log=$1 n=$2
  shift 2
  timeout -k 5 60 "${MPI[@]}" -n "$n" "$ADVLAB" "$@" >/dev/null 2>"$log" &
  waiter=$!
  job=""
  for _ in $(seq 100); do
    job=$(pgrep -P $waiter) && [ -n "$job" ] && return
    sleep 0.02
  done
}

# A grid and arms: 2 arms x 2 learning rates x 6 seeds, short runs.
SMALL=(sweep --env.name=choice --env.prompts=64 --train.steps=60 --train.eval_every=20
       --grid optim.lr=1,2 --arm 'a: estimator.name=rloo' --arm 'b: estimator.name=grpo, train.group_size=4'
       --seeds 6 --quiet)
"$ADVLAB" "${SMALL[@]}" --threads 1 --out "$T/ref.h5" >/dev/null 2>"$T/stderr" ||
  fail "single-process sweep: $(cat "$T/stderr")"
for nt in 2x1 2x2 3x1 3x2; do
  n=${nt%x*} t=${nt#*x}
  mpi "$n" "${SMALL[@]}" --threads "$t" --out "$T/m$nt.h5" >"$T/stdout" 2>"$T/stderr"
  rc=$?
  [ $rc -eq 0 ] || fail "$n ranks x $t threads: exit $rc: $(cat "$T/stderr")"
  [ -s "$T/stderr" ] && fail "$n ranks x $t threads: stderr with --quiet: $(cat "$T/stderr")"
  [ "$(grep -c '^wrote ' "$T/stdout")" -eq 1 ] || fail "$n ranks x $t threads: want one 'wrote' line: $(cat "$T/stdout")"
  cmp -s "$T/ref.h5" "$T/m$nt.h5" || fail "$n ranks x $t threads: bytes differ from the single-process sweep"
  [ -e "$T/m$nt.h5.journal" ] && fail "$n ranks x $t threads: the journal outlived the file"
done
"$ADVLAB" run --env.name=choice --train.steps=50 --out "$T/run1.h5" >/dev/null 2>&1 || fail "advlab run"
mpi 2 run --env.name=choice --train.steps=50 --out "$T/run2.h5" >/dev/null 2>"$T/stderr" ||
  fail "advlab run on 2 ranks: $(cat "$T/stderr")"
cmp -s "$T/run1.h5" "$T/run2.h5" || fail "advlab run on 2 ranks: bytes differ"

# 60 runs of about 30 ms each, to stop in the middle.
LONG=(sweep --env.name=choice --train.steps=1200 --train.eval_every=300 --grid optim.lr=1,2 --seeds 30)
"$ADVLAB" "${LONG[@]}" --threads 2 --out "$T/long.h5" --quiet >/dev/null 2>"$T/stderr" || fail "long sweep: $(cat "$T/stderr")"
# same FILE WHAT: FILE has the bytes of the long sweep made alone.
same() {
  cmp -s "$T/long.h5" "$1" || fail "$2: $1 differs from the single-process sweep's bytes"
  [ -e "$1.journal" ] && fail "$2: the journal outlived the file"
}
# rank_pid MPIRUN_PID R: the pid of rank R (a child of mpirun on this machine).
rank_pid() {
  local c
  for c in $(pgrep -P "$1"); do
    grep -qz "^OMPI_COMM_WORLD_RANK=$2\$" "/proc/$c/environ" 2>/dev/null && { echo "$c"; return; }
  done
}
# started OUT: waits until OUT's journal holds a record (the sweep is under way):
# the journal appears with its whole header, then grows a record at a time.
started() {
  local header=0 size
  for _ in $(seq 600); do
    size=$(stat -c %s "$1.journal" 2>/dev/null || echo 0)
    if [ "$header" -eq 0 ]; then header=$size
    elif [ "$size" -gt "$header" ]; then return 0
    fi
    sleep 0.05
  done
  return 1
}

# SIGKILL of a worker rank: rank 0 says which rank died and how to resume;
# the same command under mpirun resumes.
bg_mpi "$T/k.log" 3 "${LONG[@]}" --out "$T/k.h5"
started "$T/k.h5" || fail "kill worker: the sweep did not start"
victim=$(rank_pid $job 1)
[ -n "$victim" ] || fail "kill worker: no rank 1 among mpirun's children"
kill -KILL "$victim"
wait $waiter
rc=$?
[ $rc -ne 0 ] || fail "kill worker: mpirun exited 0"
grep -q "^advlab: error: rank 1 (pid $victim) died; [0-9]* of 60 runs done, kept in $T/k.h5.journal; resume with: .* --out $T/k.h5\$" "$T/k.log" ||
  fail "kill worker: no 'rank 1 died' line: $(cat "$T/k.log")"
mpi 2 "${LONG[@]}" --out "$T/k.h5" >/dev/null 2>"$T/stderr" || fail "resume after a killed worker: $(cat "$T/stderr")"
grep -q "resuming from $T/k.h5.journal: [0-9]* of 60 runs done" "$T/stderr" || fail "kill worker: no resume note: $(cat "$T/stderr")"
same "$T/k.h5" "SIGKILL of rank 1, resumed on 2 ranks"

# SIGKILL of rank 0 (the journal's writer); resumed alone.
bg_mpi "$T/k0.log" 2 "${LONG[@]}" --out "$T/k0.h5"
started "$T/k0.h5" || fail "kill rank 0: the sweep did not start"
victim=$(rank_pid $job 0)
[ -n "$victim" ] && kill -KILL "$victim"
wait $waiter
[ -e "$T/k0.h5" ] && fail "kill rank 0: the file was written"
"$ADVLAB" "${LONG[@]}" --out "$T/k0.h5" >/dev/null 2>"$T/stderr" || fail "resume after a killed rank 0: $(cat "$T/stderr")"
grep -q "resuming from" "$T/stderr" || fail "kill rank 0: no resume note: $(cat "$T/stderr")"
same "$T/k0.h5" "SIGKILL of rank 0, resumed alone"

# SIGINT to rank 0: the runs in flight on every rank come in, exit 130 from
# mpirun, the resume command; resumed on 3 ranks.
bg_mpi "$T/i.log" 2 "${LONG[@]}" --out "$T/i.h5"
started "$T/i.h5" || fail "SIGINT: the sweep did not start"
kill -INT "$(rank_pid $job 0)"
wait $waiter
rc=$?
[ $rc -eq 130 ] || fail "SIGINT to rank 0: exit $rc (want 130): $(cat "$T/i.log")"
grep -q "stopped by SIGINT: [0-9]* of 60 runs done, kept in $T/i.h5.journal; resume with:" "$T/i.log" ||
  fail "SIGINT: no stop message: $(cat "$T/i.log")"
[ "$(wc -l <"$T/i.log")" -eq 3 ] || fail "SIGINT: want rank 0's three lines only: $(cat "$T/i.log")"
mpi 3 "${LONG[@]}" --threads 2 --out "$T/i.h5" >/dev/null 2>"$T/stderr" || fail "resume after SIGINT: $(cat "$T/stderr")"
same "$T/i.h5" "SIGINT to rank 0, resumed on 3 ranks x 2 threads"

# SIGTERM to a worker alone: it stops taking runs, rank 0 gives the runs it
# had queued to the others, and the sweep ends as usual.
bg_mpi "$T/w.log" 3 "${LONG[@]}" --out "$T/w.h5"
started "$T/w.h5" || fail "SIGTERM to rank 1: the sweep did not start"
kill -TERM "$(rank_pid $job 1)"
wait $waiter
rc=$?
[ $rc -eq 0 ] || fail "SIGTERM to rank 1: exit $rc: $(cat "$T/w.log")"
same "$T/w.h5" "SIGTERM to rank 1"

# SIGTERM to mpirun: it passes SIGTERM to every rank (and SIGKILL a second
# later); what is in the journal stays, and the sweep resumes alone.
bg_mpi "$T/t.log" 2 "${LONG[@]}" --out "$T/t.h5"
started "$T/t.h5" || fail "SIGTERM: the sweep did not start"
kill -TERM $job
wait $waiter
# Every run may be in by the time the signal reaches rank 0: then the file is
# written as usual (docs/sweeps.md); else the journal is left to resume.
if [ ! -e "$T/t.h5" ]; then
  [ -e "$T/t.h5.journal" ] || fail "SIGTERM to mpirun: neither file nor journal: $(cat "$T/t.log")"
  "$ADVLAB" "${LONG[@]}" --out "$T/t.h5" >/dev/null 2>"$T/stderr" || fail "resume after SIGTERM: $(cat "$T/stderr")"
fi
same "$T/t.h5" "SIGTERM to mpirun, resumed alone"

# Bad input: one line from rank 0, exit 2 from every rank, no hang.
mpi 3 sweep --env.name=choice --seeds 0 --out "$T/bad.h5" >/dev/null 2>"$T/stderr"
check_error $? "--seeds: invalid value '0'" -F "bad option on 3 ranks"
mpi 2 sweep --env.name=choice --no.such.key=1 --out "$T/bad.h5" >/dev/null 2>"$T/stderr"
check_error $? "unknown key 'no.such.key'" -F "unknown key on 2 ranks"
# Found by rank 0 alone (an existing output): the workers are let go.
mpi 3 "${SMALL[@]}" --out "$T/ref.h5" >/dev/null 2>"$T/stderr"
check_error $? "ref.h5: output file exists; pass --force to overwrite" -F "existing output on 3 ranks"
[ -e "$T/bad.h5" ] && fail "bad input wrote a file"

[ $fails -eq 0 ] && echo "mpi_test: all passed"
exit $((fails > 0))
