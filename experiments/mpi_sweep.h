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

#include <exception>
#include <functional>
#include <string>

#include "experiments/resume.h"
#include "experiments/sweep.h"

namespace advlab {

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

  // Rank 0: RunSweepToFile with the runs made by every rank, then the exit
  // status to the other ranks. An error (what RunSweepToFile throws, or a
  // UserError when a rank fails or dies: "rank 2 (pid 123) died; ...") goes
  // to `report`, which prints it and returns the exit status, before the
  // other ranks are let go; the result then has that status.
  SweepFileResult Lead(const SweepPlan& plan, int threads, const SweepFileOptions& opts,
                       const std::function<int(std::exception_ptr)>& report);

  // Ranks > 0: makes the runs rank 0 hands out, on `threads` threads, until it
  // says stop; returns the job's exit status (rank 0's). Prints only errors.
  int Work(const SweepPlan& plan, int threads);

 private:
  int rank_ = 0, size_ = 1;
  bool broken_ = false;  // a rank died: no MPI_Finalize
  std::string setup_error_;  // setup_error()
};

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_MPI_SWEEP_H_
