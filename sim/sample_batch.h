// Step 2 of the loop (sim/loop.h): prompts and rollouts, observed rewards, and
// the extra sampling some estimators ask for (DAPO's resampling rounds, AAPO's
// reference rollouts from pi_0, ReMax's greedy responses).
//
// Every draw is keyed by its coordinates: (step, group, rollout block) on the
// run's Philox stream; DAPO round k on stream k; AAPO's reference rollouts on
// stream 0x7fffffff (estimator.aapo_reference = cached: (prompt, 0, block) on
// stream 0x7ffffffe of the training key); verifier noise on Purpose::kVerifier
// words.
#ifndef ADVLAB_SIM_SAMPLE_BATCH_H_
#define ADVLAB_SIM_SAMPLE_BATCH_H_

#include <cstdint>
#include <memory>

#include "sim/batch.h"
#include "sim/estimator.h"
#include "sim/rng.h"
#include "sim/run_config.h"
#include "sim/run_state.h"

namespace advlab {

// Draws prompts and rollouts for step `step` from `rng` into `batch`, at the
// current parameters; fills state->sampling.
void SampleBatch(const RunConfig& rc, RunState* state, const Philox& rng, int64_t step,
                 Batch* batch);

// The sampler the loop hands to the estimator's sampling hooks for step `step`
// on `rng` (DAPO's rounds, AAPO's reference rollouts, ReMax's greedy responses),
// counting what it draws in state->sampling.
std::unique_ptr<Sampler> MakeLoopSampler(const RunConfig& rc, RunState* state, const Philox& rng,
                                         int64_t step);

// Observed rewards: a correct response reads 0 with P(fn), a wrong one 1 with
// P(fp). One Philox word per rollout: {step, group, block of 4 rollouts}; the
// host/device ObserveGroupRewards (sim/sample_batch_step.h) per group.
void ObserveRewards(const RunConfig& rc, const Philox& rng, int64_t step, Batch* batch);

}  // namespace advlab

#endif  // ADVLAB_SIM_SAMPLE_BATCH_H_
