// The verifier's noise as a host/device step function (sim/sample_batch.h's
// ObserveRewards calls it group by group): a correct response reads 0 with
// P(fn), a wrong one 1 with P(fp), one Philox word per rollout.
#ifndef ADVLAB_SIM_SAMPLE_BATCH_STEP_H_
#define ADVLAB_SIM_SAMPLE_BATCH_STEP_H_

#include <cstdint>

#include "sim/features.h"
#include "sim/rng.h"

namespace advlab {

// The noise rates as thresholds on a 32-bit word: the rate r is floor(r 2^32),
// a word below it flips the reward.
struct VerifierNoise {
  uint32_t false_positive = 0;  // a wrong response reads 1 when the word is below this
  uint32_t false_negative = 0;  // a correct response reads 0 when the word is below this
};

ADVLAB_HD inline VerifierNoise MakeVerifierNoise(double false_positive, double false_negative) {
  VerifierNoise n;
  n.false_positive = static_cast<uint32_t>(false_positive * 4294967296.0);
  n.false_negative = static_cast<uint32_t>(false_negative * 4294967296.0);
  return n;
}

// Observed rewards of group `group` of step `step`: its `count` rollouts'
// correctness flags correct[0, count) (0 or 1) give reward[0, count) in {0, 1}.
// Rollout i reads word i % 4 of Philox (kVerifier, {step, group, i / 4}).
ADVLAB_HD inline void ObserveGroupRewards(const VerifierNoise& noise, const Philox& rng,
                                          int64_t step, int32_t group, int32_t count,
                                          const uint8_t* correct, double* reward) {
  Words4 w{};
  for (int32_t i = 0; i < count; ++i) {
    if (i % 4 == 0) {
      w = rng.Draw(Purpose::kVerifier, static_cast<uint32_t>(step), static_cast<uint32_t>(group),
                   static_cast<uint32_t>(i / 4));
    }
    const uint32_t word = w.w[i % 4];
    const bool ok = correct[i] != 0;
    reward[i] = ok ? (word < noise.false_negative ? 0.0 : 1.0)
                   : (word < noise.false_positive ? 1.0 : 0.0);
  }
}

}  // namespace advlab

#endif  // ADVLAB_SIM_SAMPLE_BATCH_STEP_H_
