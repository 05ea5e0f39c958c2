// Sharded sweeps (docs/sweeps.md "Shards and job arrays"): `advlab sweep ...
// --shard I/N --out shard_I.h5` makes runs k with k mod N == I of the sweep
// (I from 0; round robin, so every shard gets a like share of every arm, grid
// point and seed) and writes a shard file; `advlab merge shard_*.h5 --out
// s.h5` assembles the whole sweep's file, byte for byte the file one unsharded
// `advlab sweep` writes, whatever the order of the arguments.
//
// A shard file is a results file (sim/results.h) of the shard's runs only
// (/runs/run_id holds their indices in the whole sweep) with a group /shard
// written last, whose attributes are shard ("I/N"), sweep (the sweep's
// canonical description: its identity, experiments/resume.h
// SweepDescription) and sha256, a checksum over the shard's content
// (experiments/h5io.h ContentChecksum), so merge refuses a damaged shard
// instead of merging it. Each shard is a resumable sweep of its own: its journal's
// header names the shard.
#ifndef ADVLAB_EXPERIMENTS_SHARD_H_
#define ADVLAB_EXPERIMENTS_SHARD_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/results.h"

namespace advlab {

struct ShardSpec {
  int64_t index = 0;  // I, in [0, count)
  int64_t count = 0;  // N; 0: not sharded
  bool active() const { return count > 0; }
  bool Has(size_t run) const { return !active() || static_cast<int64_t>(run % count) == index; }
  std::string Text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "I/N" with 0 <= I < N <= 2^20; `what` names the source in errors.
ShardSpec ParseShard(const std::string& text, const std::string& what);

// The shard of a job-array task, from the environment (`getenv`, injectable
// for tests): Slurm (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _COUNT, _STEP) or Grid
// Engine (SGE_TASK_ID, _FIRST, _LAST, _STEPSIZE): I = (ID - first) / step,
// N = the number of tasks. An array with gaps (--array=1,3,7) is refused: the
// shards would not cover the sweep. PBS and LSF do not say how many tasks an
// array has: their index alone is refused with the --shard form to use.
ShardSpec ShardFromEnv(const std::function<const char*(const char*)>& getenv);

// The shard's part of `whole` (a whole sweep's layout: attributes, /runs,
// /steps, metric names; values need not be there): its rows of /runs, the
// metrics' names without values, and the shard's attributes (sweep: the
// sweep's description). A streamed write of the shard starts from it.
Results ShardSkeleton(const Results& whole, const ShardSpec& shard, const std::string& sweep);

// The checksum of a shard held in memory (experiments/h5io.h ContentChecksum):
// what its file's /shard/sha256 says when it is undamaged.
std::string ShardChecksum(const Results& shard);

// Reads the shard files, checks that together they are every shard of one
// sweep, each whole and undamaged, and returns the whole sweep's results.
// Throws UserError naming the file and what is wrong.
Results MergeShards(const std::vector<std::string>& files);

// `advlab merge SHARD... --out FILE.h5 [--force]`.
int MergeCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_SHARD_H_
