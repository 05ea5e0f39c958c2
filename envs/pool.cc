#include "envs/pool.h"

#include <algorithm>
#include <limits>

#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

static_assert(kPoolBins == kDifficultyBins, "BinEntry tracks the metric bins");

ADVLAB_REGISTER_KEY(
    env_answer_rate,
    KeySpec{.name = "env.answer_rate",
            .type = KeyType::kFloat,
            .default_value = "0",
            .help = "share of prompts whose correct answer is redrawn per step (0: never)",
            .min = 0.0,
            .max = 0.5});

PoolTask::PoolTask(const Config& config, uint64_t seed, int32_t num_prompts, PoolTables tables)
    : seed_(seed), drift_(DriftSchedule::FromConfig(config, num_prompts, seed)) {
  const double rate = config.Float("env.answer_rate");
  pool_model_.seed = seed;
  pool_model_.num_prompts = num_prompts;
  pool_model_.answer_period = rate > 0.0 ? static_cast<int64_t>(1.0 / rate + 0.5) : 0;
  pool_model_.drift = drift_.model();
  if (tables == PoolTables::kOwnArena) {
    LayoutPoolTables(&own_arena_);
    own_arena_.Allocate();
    FillPoolTables(&own_arena_);
  }
  Advance(0);
}

void PoolTask::LayoutPoolTables(Arena* arena) {
  answer_phase_slot_ = arena->Add<int64_t>(pool_model_.answer_period > 0 ? num_prompts() : 0);
}

void PoolTask::FillPoolTables(Arena* arena) {
  int64_t* phase = arena->Get(answer_phase_slot_);
  if (pool_model_.answer_period > 0) {
    const Philox rng(seed_);
    for (int32_t p = 0; p < num_prompts(); ++p) {
      phase[p] = UniformIndex(rng.Draw(Purpose::kPool, static_cast<uint32_t>(p), 0, 1).w[0],
                              static_cast<uint32_t>(pool_model_.answer_period));
    }
  }
  pool_model_.answer_phase = phase;
}

void PoolTask::Advance(int64_t step) { AdvancePool(pool_model_, step, &pool_data_); }

double PoolTask::TrainAccuracy(Policy* policy) const {
  const double w = 1.0 / pool_data_.window_width;
  double acc = 0.0;
  for (int32_t i = 0; i < pool_data_.window_width; ++i) {
    acc += w * SuccessProbability(policy, pool_data_.window_start + i);
  }
  return acc;
}

void PoolTask::AdvanceTraining(int64_t step, Policy* policy) {
  Advance(step);  // the family's: answers and tables at `step` too
  const DriftModel& m = pool_model_.drift;
  if (m.kind == DriftModel::Kind::kAccuracy && step > 0 && step % m.check_every == 0 &&
      step != last_check_ && pool_data_.walk.stage < m.stages - 1) {
    last_check_ = step;
    if (TrainAccuracy(policy) >= m.threshold) {
      pool_data_.walk.stage += 1;
      AdvancePool(pool_model_, step, &pool_data_);  // the new stage's window
    }
  }
  if (!bins_ready_) {
    // Difficulty is non-decreasing in the id, so each bin is an id range.
    // (Lazily: difficulty() is the family's, not callable from our constructor.)
    int32_t p = 0;
    for (int k = 0; k <= kPoolBins; ++k) {
      while (p < num_prompts() && DifficultyBin(difficulty(p)) < k) ++p;
      bin_entry_.begin[k] = k == kPoolBins ? num_prompts() : p;
    }
    bins_ready_ = true;
  }
  TrackBinEntry(pool_data_, step, &bin_entry_);
}

void PoolTask::BinEntrySteps(double* out) const {
  for (int k = 0; k < kPoolBins; ++k) {
    out[k] = bin_entry_.entry[k] < 0 ? std::numeric_limits<double>::quiet_NaN()
                                     : static_cast<double>(bin_entry_.entry[k]);
  }
}

void PoolTask::DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const {
  advlab::DrawPrompts(pool_model_, pool_data_, rng, step, count, prompts);
}

void PoolTask::TrainingDistribution(std::vector<int32_t>* prompts,
                                    std::vector<double>* weights) const {
  prompts->clear();
  weights->clear();
  // UniformIndex over the window is uniform up to a bias of width / 2^32.
  const double w = 1.0 / pool_data_.window_width;
  for (int32_t i = 0; i < pool_data_.window_width; ++i) {
    prompts->push_back(pool_data_.window_start + i);
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
