// Compile-only (tests/hd_compile_test.sh): the verifier's noise
// (sim/sample_batch_step.h) inside a kernel, one group per thread.
#include "sim/rng.h"
#include "sim/sample_batch_step.h"

namespace advlab {

__global__ void NoiseKernel(double fp, double fn, uint64_t seed, int64_t step, int group_size,
                            const uint8_t* correct, double* reward) {
  const VerifierNoise noise = MakeVerifierNoise(fp, fn);
  const int g = static_cast<int>(threadIdx.x);
  ObserveGroupRewards(noise, Philox(seed), step, g, group_size, correct + g * group_size,
                      reward + g * group_size);
}

}  // namespace advlab
