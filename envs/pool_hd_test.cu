// Compile-only (tests/hd_compile_test.sh): the pool's host/device step
// functions (envs/pool_step.h, sim/drift.h) inside a kernel.
#include "envs/pool_step.h"
#include "sim/drift.h"
#include "sim/rng.h"

namespace advlab {

// Each thread moves its own PoolData to a step (the walk forward from step 0),
// draws that step's prompts, reads an answer version and the window's width,
// and records the bins' entry.
__global__ void PoolKernel(PoolModel m, uint64_t seed, int count, int32_t* prompts,
                           uint32_t* versions, int32_t* starts, int64_t* entry0) {
  const int64_t step = threadIdx.x;
  PoolData d;
  AdvancePool(m, step, &d);
  BinEntry e;
  TrackBinEntry(d, step, &e);
  entry0[threadIdx.x] = e.entry[0] + DriftWindowWidth(m.drift, step) + DriftBandRemoved(m.drift, step);
  DrawPrompts(m, d, Philox(seed), step, count, prompts + threadIdx.x * count);
  versions[threadIdx.x] = AnswerVersion(m, step, prompts[threadIdx.x * count]);
  DriftWalk walk;
  starts[threadIdx.x] = DriftWindowStart(m.drift, step, &walk);
}

}  // namespace advlab
