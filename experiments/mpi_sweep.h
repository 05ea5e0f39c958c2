// Distributed sweeps: `mpirun -n N advlab sweep ...` (docs/sweeps.md, "MPI").
//
// Every rank parses the same command line and plans the same sweep (planning
// is deterministic). Rank 0 runs the sweep through its journal
// (RunSweepToFile: the only rank that touches files) and hands out run
// indices on request; ranks > 0 make the runs they are handed on their
// --threads threads and send back each run's values. Rank 0 makes runs on its
// own threads too; its main thread does all of its MPI calls
// (MPI_THREAD_FUNNELED). The journal assembles the file in run order, so the
// bytes are those of `advlab sweep` alone, whatever the ranks and threads.
//
// Compiled only with MPI (CMake ADVLAB_MPI; ADVLAB_HAVE_MPI), into the advlab
// executable alone: no other binary links the MPI library.
#ifndef ADVLAB_EXPERIMENTS_MPI_SWEEP_H_
#define ADVLAB_EXPERIMENTS_MPI_SWEEP_H_

#include <memory>
#include <string>

#include "experiments/resume.h"
#include "experiments/sweep.h"

namespace advlab {
namespace mpi {
class Leader;
}  // namespace mpi

// True when an MPI launcher (mpirun, mpiexec, srun) started this process as
// one rank of several, as its environment says (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE, PMIX_RANK). advlab started alone never initialises MPI.
bool LaunchedAsMpiJob();

// MPI for the lifetime of the object: MPI_Init_thread (MPI_THREAD_FUNNELED)
// and MPI_Finalize (skipped when a rank died: it would wait for it).
class MpiJob {
 public:
  MpiJob();
  ~MpiJob();
  MpiJob(const MpiJob&) = delete;
  MpiJob& operator=(const MpiJob&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Why this MPI cannot run a sweep ("" when it can): no MPI_THREAD_FUNNELED,
  // or a launcher of another MPI. Reported as a planning error.
  const std::string& setup_error() const { return setup_error_; }

  // Collective: the lowest rank that passes failed = true, or -1 if none.
  int FirstFailure(bool failed);

  // Every rank waits for every other.
  void Barrier();

  // Rank 0: RunSweepToFile with the runs made by every rank. Throws what it
  // throws, and UserError when a rank fails or dies ("rank 2 (pid 123)
  // died; ..."). The other ranks wait (without spinning) until Finish.
  SweepFileResult Lead(const SweepPlan& plan, int threads, const SweepFileOptions& opts);
  // Rank 0, after Lead and after printing what it prints (an error, the
  // summary): lets the other ranks go, each to exit with `status`. mpirun
  // ends the job at the first rank that exits with a status other than 0,
  // and drops the output not yet passed on, so rank 0 prints first.
  void Finish(int status);

  // Ranks > 0: makes the runs rank 0 hands out, on `threads` threads, until it
  // says stop; returns the job's exit status (rank 0's). Prints only errors.
  int Work(const SweepPlan& plan, int threads);

 private:
  int rank_ = 0, size_ = 1;
  std::unique_ptr<mpi::Leader> leader_;  // rank 0, from Lead to Finish
  bool broken_ = false;  // a rank died: no MPI_Finalize
  std::string setup_error_;  // setup_error()
};

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_MPI_SWEEP_H_
