// PoolTask: the part every family shares. A pool of prompts ordered easy -> hard
// (prompt id order), a drifting training window over it (sim/drift.h), and
// answer re-randomisation: with env.answer_rate = r > 0, each prompt's answer is
// redrawn every T = round(1/r) steps at a per-prompt phase (Philox, kPool,
// {prompt, 0, 1}), so on average a share r of the prompts changes per step.
// Families read answer_version(p) and derive the current answer from it.
//
// AdvanceTraining adds the training history: under env.drift=accuracy, at each
// check step t = k * env.drift_check_every (k >= 1, while a stage is left) the
// exact training accuracy -- sum over the window of SuccessProbability / width,
// the train_accuracy metric's quantity, under the policy after t steps and the
// answers of step t, on the window of the stage so far -- is compared with
// env.drift_threshold; if it is >= the threshold the stage moves up by one and
// step t trains on the new window. The first call at t decides (an eval at t
// comes before step t and sees the same policy, so evals do not change it).
// Then it records the bins' entry steps (TrackBinEntry).
//
// The plain data and the host/device step functions are in envs/pool_step.h
// (PoolModel, PoolData, AnswerVersion, AdvancePool, DrawPrompts); PoolTask's
// methods are thin adaptors over them. The pool's one table (the answer
// phases) lives in an Arena: the pool's own, or the family's when the family
// keeps its whole model in one arena (PoolTables::kFamilyArena).
#ifndef ADVLAB_ENVS_POOL_H_
#define ADVLAB_ENVS_POOL_H_

#include <cstdint>
#include <vector>

#include "envs/pool_step.h"
#include "sim/arena.h"
#include "sim/batch.h"
#include "sim/drift.h"
#include "sim/features.h"
#include "sim/task.h"

namespace advlab {

class PoolTask : public Task {
 public:
  // Where the pool's tables live. kOwnArena: in the pool's own arena, filled by
  // the constructor. kFamilyArena: in the family's, which calls
  // LayoutPoolTables before its Arena::Allocate and FillPoolTables after (until
  // then pool_model().answer_phase is null).
  enum class PoolTables { kOwnArena, kFamilyArena };

  // Reads env.drift*, env.answer_rate and train.steps for a pool of num_prompts.
  PoolTask(const Config& config, uint64_t seed, int32_t num_prompts,
           PoolTables tables = PoolTables::kOwnArena);

  int32_t num_prompts() const override { return pool_model_.num_prompts; }
  void Advance(int64_t step) override;
  void AdvanceTraining(int64_t step, Policy* policy) override;
  void BinEntrySteps(double* out) const override;
  void DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* prompts) const override;
  void TrainingDistribution(std::vector<int32_t>* prompts,
                            std::vector<double>* weights) const override;

  const DriftSchedule& drift() const { return drift_; }
  int64_t current_step() const { return pool_data_.step; }
  int32_t window_start() const { return pool_data_.window_start; }
  int32_t window_width() const { return pool_data_.window_width; }
  // Exact success on the current training window: sum of SuccessProbability /
  // width over its prompts in id order (Evaluate's train_accuracy, bit for bit).
  double TrainAccuracy(Policy* policy) const;
  // The accuracy curriculum's stage (0 under other schedules).
  int64_t drift_stage() const { return pool_data_.walk.stage; }
  const BinEntry& bin_entry() const { return bin_entry_; }
  // Version of prompt p's answer at the current step (0 when answers are fixed).
  uint32_t answer_version(int32_t prompt) const {
    return AnswerVersion(pool_model_, pool_data_.step, prompt);
  }
  const PoolModel& pool_model() const { return pool_model_; }
  const PoolData& pool_data() const { return pool_data_; }

 protected:
  // The pool's tables in a family's arena (PoolTables::kFamilyArena): the
  // layout pass (before arena->Allocate()), then the fill (after), which points
  // pool_model() into the arena.
  void LayoutPoolTables(Arena* arena);
  void FillPoolTables(Arena* arena);

  // Capacity for `tokens` tokens (at most 2^22) in the batch's token arrays
  // (token, state, logprob), so that resizing them up to that never allocates:
  // Rollout reserves its longest possible output, and a warm step allocates
  // nothing even when responses get longer than any before.
  static void ReserveTokens(Batch* batch, int64_t tokens);

  uint64_t seed_;

 private:
  DriftSchedule drift_;                   // the schedule (pool_model_.drift is its model)
  Arena own_arena_;                       // the pool's tables under kOwnArena
  ArenaSlot<int64_t> answer_phase_slot_;  // [P] when answer_period > 0
  PoolModel pool_model_;                  // answer_phase points into an arena
  PoolData pool_data_;                    // at the current step
  BinEntry bin_entry_;                    // bins' entry steps (begin filled lazily)
  bool bins_ready_ = false;               // bin_entry_.begin filled
  int64_t last_check_ = -1;               // last step the curriculum was checked
};

}  // namespace advlab

#endif  // ADVLAB_ENVS_POOL_H_
