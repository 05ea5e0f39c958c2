// A sweep that survives any interruption (docs/sweeps.md): `advlab run` and
// `advlab sweep` append each finished run to OUT.h5.journal (experiments/
// journal.h), resume from it when started again with the same command, and
// assemble OUT.h5 from it at the end, so an interrupted and resumed sweep
// writes the same bytes as an uninterrupted one.
//
// Identities: the sweep's is the journal header, which holds the advlab
// version and the sweep's canonical description (SweepDescription); a run's
// is the SHA-256 of "advlab VERSION\n" and its resolved config as "key =
// value" lines, dotted keys in byte order (RunIdentity). A journal of another
// sweep, or a record of another run at an index, is refused with one line
// naming what differs, unless --restart.
#ifndef ADVLAB_EXPERIMENTS_RESUME_H_
#define ADVLAB_EXPERIMENTS_RESUME_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "experiments/journal.h"
#include "experiments/shard.h"
#include "experiments/sweep.h"
#include "sim/results.h"

namespace advlab {

// "OUT.h5.journal".
std::string JournalPath(const std::string& out);

// The sweep's canonical description: one "name = value" line each for
// advlab_version, runs, seeds, steps (the eval steps), metrics, then
// "arm NAME = k=v, ..." per arm, "grid KEY = v1,v2" per axis, and every key of
// the resolved base config in key order.
std::string SweepDescription(const SweepPlan& plan);
JournalHeader SweepJournalHeader(const SweepPlan& plan);
Digest32 RunIdentity(const RunConfig& rc);

// The first line of sweep description `b` whose value differs in `a` (or is
// missing there), as "grid optim.lr = 8,16 A_NAME, 8,32 B_NAME"; "" when the
// two are equal.
std::string DescriptionDifference(const std::string& a, const std::string& b,
                                  const std::string& a_name, const std::string& b_name);

// Why the journal header `there` does not belong to the sweep `here`, as the
// middle of a one-line message ("made by a different sweep: grid optim.lr =
// 8,32 there, 8,16 here"); "" when it does.
std::string HeaderMismatch(const DecodedHeader& there, const JournalHeader& here);

struct SweepFileOptions {
  std::string out;             // --out
  bool force = false;          // --force: replace an existing OUT.h5
  bool restart = false;        // --restart: discard OUT.h5.journal
  bool quiet = false;          // --quiet: no progress, no notes
  std::string resume_command;  // what to run to resume (shown when a signal stops the sweep)
  ShardSpec shard;             // --shard I/N: only its runs; OUT is a shard file
};

// What makes the runs: called once with the runs to leave out (skip[k]: in
// the journal already), a callback for each finished run (its index and
// RunRecord; calls one at a time) and the stop flag (nonzero: start no new
// run). The default runs them on this process's threads (RunPlan); the MPI
// sweep (experiments/mpi_sweep.h) hands them to other ranks.
using RunExecutor = std::function<void(const std::vector<bool>& skip,
                                       const std::function<void(size_t, RunRecord&&)>& finished,
                                       const std::atomic<int>* stop)>;

struct SweepFileResult {
  int exit_status = 0;  // 0: OUT.h5 written; 130/143: stopped by SIGINT/SIGTERM
  // When exit_status is 0, the file's layout: attributes, /runs, /steps and the
  // metrics' names, not their values (the sweep streamed them to the file;
  // ReadResultsFile reads them).
  Results results;
};

// Runs the plan into opts.out through its journal on `threads` threads
// (the protocol and the signals: docs/sweeps.md). UserError on bad input or
// I/O failures; the journal stays valid and resumable through any of them.
SweepFileResult RunSweepToFile(const SweepPlan& plan, int threads, const SweepFileOptions& opts);
// The same with the runs made by `execute` (threads then only sizes nothing:
// the executor decides).
SweepFileResult RunSweepToFile(const SweepPlan& plan, const RunExecutor& execute,
                               const SweepFileOptions& opts);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_RESUME_H_
