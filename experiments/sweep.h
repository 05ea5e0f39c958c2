// Sweeps: arms x a grid of configs x seeds, run on a pool of threads.
//
// Runs are ordered arm by arm (declaration order), then grid point by grid point
// (the first --grid key varies slowest), seeds innermost: run k has seed
// base_seed + (k mod seeds), so every arm and grid point runs the same seeds. Each run is
// a pure function of its own config, so the results do not depend on the number
// of threads or on which thread ran what; a run of a sweep equals the same config
// run alone.
#ifndef ADVLAB_EXPERIMENTS_SWEEP_H_
#define ADVLAB_EXPERIMENTS_SWEEP_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "experiments/options.h"
#include "sim/loop.h"
#include "sim/results.h"

namespace advlab {

// A plan is lazy: it holds the arms' configs and the grid, not a config per
// run, so its memory does not grow with the seeds (and grows with the grid
// points only by their index arithmetic). Run k is arm k / (P x S), grid point
// (k / S) mod P, seed base_seed + k mod S (P points, S seeds); Run(k) builds
// its config, which PlanSweep checked once per arm and grid point.
struct SweepPlan {
  Config base;                       // resolved base config (grid keys at base values)
  std::vector<GridAxis> grid;        // canonicalised values
  std::vector<Arm> arms;             // canonicalised values; empty: no arms
  std::vector<std::string> arm_keys; // the keys some arm sets, first appearance first
  std::vector<Config> arm_configs;   // [max(arms, 1)] the base with each arm's keys
  int64_t seeds = 1;                 // seeds per arm and grid point
  int64_t base_seed = 0;             // the first seed (the `seed` key)
  std::string analysis_ini;          // the [analysis] section, stored in the file

  size_t num_points() const;         // grid points: the product of the axes' sizes
  size_t num_runs() const { return arm_configs.size() * num_points() * static_cast<size_t>(seeds); }
  size_t ArmOf(size_t k) const { return k / static_cast<size_t>(seeds) / num_points(); }
  size_t PointOf(size_t k) const { return k / static_cast<size_t>(seeds) % num_points(); }
  uint64_t SeedOf(size_t k) const { return static_cast<uint64_t>(base_seed) + k % static_cast<size_t>(seeds); }
  // Grid point p's value of each axis (the first axis varies slowest).
  std::vector<std::string> Point(size_t p) const;
  std::vector<std::string> Swept(size_t k) const { return Point(PointOf(k)); }
  const std::string& SweptValue(size_t k, size_t axis) const;  // Swept(k)[axis]
  Config RunKeys(size_t k) const;    // run k's resolved config
  RunConfig Run(size_t k) const { return RunConfig::FromConfig(RunKeys(k)); }
};

// Expands and validates everything before any run starts; throws UserError on
// the first bad input: grid values (each valid, no two equal once parsed),
// every config resolved, every task built once per grid point, the keys given
// (`keys` and the grid keys) read by some run (CheckKeysRead), and the memory
// the sweep needs with `threads` runs at once against the machine's. With
// `arms`, every arm is crossed with the grid: an arm's keys replace `keys`; an
// arm may not set a grid key; no two arms may be the same config; each arm's
// keys are read by some run of the arm.
SweepPlan PlanSweep(const std::map<std::string, std::string>& keys,
                    const std::vector<GridAxis>& grid, int64_t seeds, int threads = 1,
                    const std::vector<Arm>& arms = {});

// Bytes of memory this process may use: physical memory, or a smaller cgroup
// limit. *what says which ("this machine's 23.4 GiB").
double MemoryLimit(std::string* what);

// The plan's results file without the results: attributes, /runs, /steps and
// every metric with no values (what an [analysis] section is checked against
// before any run starts).
Results SweepSkeleton(const SweepPlan& plan);

// The skeleton with every metric sized [runs x evals] (zeros), for PutRunValues.
Results EmptyResults(const SweepPlan& plan);
// Puts run k's RunRecord values ([metrics x evals]) into its rows of r's metrics.
void PutRunValues(Results* r, size_t k, const double* values);
// Rollouts a run makes: train.steps x train.batch_prompts x train.group_size.
double RunRollouts(const RunConfig& rc);

// Runs plan.runs[k] for every k with !skip[k] (skip empty: every run) on
// `threads` threads, taking runs in index order as threads free up. Each
// finished run's record goes to `finished` (called from the worker threads,
// one call at a time, in completion order) and is dropped after, so memory
// holds only the runs in flight. Once *stop is nonzero no new run starts; the
// runs in flight finish and are reported. The first exception (a run's or
// `finished`'s) stops the pool; it is rethrown once the threads have joined.
void RunPlan(const SweepPlan& plan, int threads, const std::vector<bool>& skip,
             const std::function<void(size_t, RunRecord&&)>& finished,
             const std::atomic<int>* stop = nullptr);

// Runs the plan on `threads` threads in memory; progress on stderr when it is
// a terminal. (`advlab sweep` goes through a journal: experiments/resume.h.)
// The file's /runs columns: run_id, seed, then with arms `arm` (the arm's name)
// and one column per key some arm sets (the base value in arms that do not),
// then one per grid key.
Results RunSweep(const SweepPlan& plan, int threads);

// Provenance of this build (commit, compiler, flags, build type).
std::vector<std::pair<std::string, std::string>> BuildProvenance();

extern const char* const kAdvlabVersion;

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_SWEEP_H_
