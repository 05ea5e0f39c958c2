// PoolTask: the part every family shares. A pool of prompts ordered easy -> hard
// (prompt id order), a drifting training window over it (sim/drift.h), and
// answer re-randomisation: with env.answer_rate = r > 0, each prompt's answer is
// redrawn every T = round(1/r) steps at a per-prompt phase (Philox, kPool,
// {prompt, 0, 1}), so on average a share r of the prompts changes per step.
// Families read answer_version(p) and derive the current answer from it.
#ifndef ADVLAB_ENVS_POOL_H_
#define ADVLAB_ENVS_POOL_H_

#include <cstdint>
#include <vector>

#include "sim/batch.h"
#include "sim/drift.h"
#include "sim/features.h"
#include "sim/task.h"

namespace advlab {

// The pool's part of a family's plain-data model (what step functions read):
// answer re-randomisation. Immutable for the run.
struct PoolModel {
  uint64_t seed = 0;               // the run's seed (answer redraws key on it)
  int32_t num_prompts = 0;         // P, the drifting pool
  int64_t answer_period = 0;       // T = round(1 / env.answer_rate); 0: answers never change
  const int64_t* answer_phase = nullptr;  // [P] per-prompt phase in [0, T), when T > 0
};

// Version of a prompt's answer at `step`: floor((step + phase) / T), 0 when
// answers are fixed.
ADVLAB_HD inline uint32_t AnswerVersion(const PoolModel& m, int64_t step, int32_t prompt) {
  if (m.answer_period == 0) return 0;
  return static_cast<uint32_t>((step + m.answer_phase[prompt]) / m.answer_period);
}

class PoolTask : public Task {
 public:
  // Reads env.drift*, env.answer_rate and train.steps for a pool of num_prompts.
  PoolTask(const Config& config, uint64_t seed, int32_t num_prompts);

  int32_t num_prompts() const override { return num_prompts_; }
  void Advance(int64_t step) override;
  void DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const override;
  void TrainingDistribution(std::vector<int32_t>* prompts,
                            std::vector<double>* weights) const override;

  const DriftSchedule& drift() const { return drift_; }
  int64_t current_step() const { return step_; }
  int32_t window_start() const { return window_start_; }
  // Version of prompt p's answer at the current step (0 when answers are fixed).
  uint32_t answer_version(int32_t prompt) const {
    return AnswerVersion(pool_model_, step_, prompt);
  }
  const PoolModel& pool_model() const { return pool_model_; }

 protected:
  // Capacity for `tokens` tokens (at most 2^22) in the batch's token arrays
  // (token, state, logprob), so that resizing them up to that never allocates:
  // Rollout reserves its longest possible output, and a warm step allocates
  // nothing even when responses get longer than any before.
  static void ReserveTokens(Batch* batch, int64_t tokens);

  uint64_t seed_;

 private:
  int32_t num_prompts_;
  DriftSchedule drift_;
  int64_t answer_period_ = 0;         // 0: answers never change
  std::vector<int64_t> answer_phase_;  // [prompts] when answer_period_ > 0
  PoolModel pool_model_;               // points into answer_phase_
  int64_t step_ = 0;
  int32_t window_start_ = 0;
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_POOL_H_
