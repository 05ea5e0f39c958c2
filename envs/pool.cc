#include "envs/pool.h"

#include <algorithm>

#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

ADVLAB_REGISTER_KEY(
    env_answer_rate,
    KeySpec{.name = "env.answer_rate",
            .type = KeyType::kFloat,
            .default_value = "0",
            .help = "share of prompts whose correct answer is redrawn per step (0: never)",
            .min = 0.0,
            .max = 0.5});

PoolTask::PoolTask(const Config& config, uint64_t seed, int32_t num_prompts)
    : seed_(seed),
      num_prompts_(num_prompts),
      drift_(DriftSchedule::FromConfig(config, num_prompts, seed)) {
  const double rate = config.Float("env.answer_rate");
  if (rate > 0.0) {
    answer_period_ = static_cast<int64_t>(1.0 / rate + 0.5);
    answer_phase_.resize(num_prompts);
    const Philox rng(seed);
    for (int32_t p = 0; p < num_prompts; ++p) {
      answer_phase_[p] = UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 1).w[0],
                                      static_cast<uint32_t>(answer_period_));
    }
  }
  pool_model_.seed = seed;
  pool_model_.num_prompts = num_prompts;
  pool_model_.answer_period = answer_period_;
  pool_model_.answer_phase = answer_phase_.empty() ? nullptr : answer_phase_.data();
  Advance(0);
}

void PoolTask::Advance(int64_t step) {
  step_ = step;
  window_start_ = drift_.WindowStart(step);
}

void PoolTask::DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const {
  const uint32_t width = static_cast<uint32_t>(drift_.width);
  for (int slot = 0; slot < count; slot += 4) {
    Words4 w = rng.Draw(Purpose::kPromptDraw, static_cast<uint32_t>(step),
                        static_cast<uint32_t>(slot / 4), 0);
    for (int j = 0; j < 4 && slot + j < count; ++j) {
      prompts[slot + j] = window_start_ + static_cast<int32_t>(UniformIndex(w.w[j], width));
    }
  }
}

void PoolTask::TrainingDistribution(std::vector<int32_t>* prompts,
                                    std::vector<double>* weights) const {
  prompts->clear();
  weights->clear();
  // UniformIndex over the window is uniform up to a bias of width / 2^32.
  const double w = 1.0 / drift_.width;
  for (int32_t i = 0; i < drift_.width; ++i) {
    prompts->push_back(window_start_ + i);
    weights->push_back(w);
  }
}

void PoolTask::ReserveTokens(Batch* batch, int64_t tokens) {
  // At most 2^22 tokens (64 MB of token arrays): past that, the arrays grow as
  // the responses need.
  const size_t n = static_cast<size_t>(std::min(tokens, kMaxReservedTokens));
  batch->token.reserve(n);
  batch->state.reserve(n);
  batch->logprob.reserve(n);
}

}  // namespace advlab
