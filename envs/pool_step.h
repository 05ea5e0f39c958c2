// The pool's plain data and its host/device step functions (envs/pool.h is the
// host class over them): which prompts a step trains on (the drift window and
// the prompt draw) and which version of each prompt's answer is current.
//
// PoolModel is immutable for the run (its table lives in the family's arena,
// or in the pool's own); PoolData is what changes with the step. AdvancePool
// moves PoolData to a step, DrawPrompts draws that step's training prompts,
// TrackBinEntry records when each difficulty bin (last) entered the window.
#ifndef ADVLAB_ENVS_POOL_STEP_H_
#define ADVLAB_ENVS_POOL_STEP_H_

#include <cstdint>

#include "sim/drift.h"
#include "sim/features.h"
#include "sim/rng.h"

namespace advlab {

// The pool's part of a family's plain-data model (what step functions read).
struct PoolModel {
  uint64_t seed = 0;               // the run's seed (answer redraws key on it)
  int32_t num_prompts = 0;         // P, the drifting pool
  int64_t answer_period = 0;       // T = round(1 / env.answer_rate); 0: answers never change
  const int64_t* answer_phase = nullptr;  // [P] per-prompt phase in [0, T), when T > 0
  DriftModel drift;                // the training window's schedule (width W = drift.width)
};

// The pool at a step: the training window (and the random walk or curriculum
// stage behind it).
struct PoolData {
  int64_t step = 0;          // the step the data is at
  int32_t window_start = 0;  // first prompt of the window [start, start + width)
  int32_t window_width = 0;  // its width (W; P - band while reintroduce's band is out)
  DriftWalk walk;            // the random walk's position, the curriculum's stage
};

// When each difficulty bin entered the training window. Pools are ordered easy
// -> hard, so bin k is the id range [begin[k], begin[k + 1]) (empty when equal);
// the host fills `begin` once from the family's difficulties.
inline constexpr int kPoolBins = 4;  // = kDifficultyBins (sim/task.h)
struct BinEntry {
  int32_t begin[kPoolBins + 1] = {};  // bin k: prompts [begin[k], begin[k + 1])
  int64_t entry[kPoolBins] = {-1, -1, -1, -1};  // step of the latest entry; -1: never in
  bool present[kPoolBins] = {};       // in the window at step `step`
  int64_t step = -1;                  // last step tracked; -1: none yet
};

// Version of a prompt's answer at `step`: floor((step + phase) / T), 0 when
// answers are fixed.
ADVLAB_HD inline uint32_t AnswerVersion(const PoolModel& m, int64_t step, int32_t prompt) {
  if (m.answer_period == 0) return 0;
  return static_cast<uint32_t>((step + m.answer_phase[prompt]) / m.answer_period);
}

// Moves `d` to `step`: O(1) per step forward (the walk), closed form otherwise.
ADVLAB_HD inline void AdvancePool(const PoolModel& m, int64_t step, PoolData* d) {
  d->step = step;
  d->window_start = DriftWindowStart(m.drift, step, &d->walk);
  d->window_width = DriftWindowWidth(m.drift, step);
}

// Records `step` (d at that step; steps in increasing order, as training takes
// them): a bin with a prompt in the window whose previous tracked step had none
// (or that was never in) entered at `step`. A repeated step changes nothing; a
// step back starts the record afresh there.
ADVLAB_HD inline void TrackBinEntry(const PoolData& d, int64_t step, BinEntry* e) {
  if (step == e->step) return;
  if (step < e->step) {
    for (int k = 0; k < kPoolBins; ++k) e->entry[k] = -1, e->present[k] = false;
  }
  const int32_t lo = d.window_start, hi = d.window_start + d.window_width;
  for (int k = 0; k < kPoolBins; ++k) {
    const bool in = e->begin[k] < e->begin[k + 1] && e->begin[k] < hi && e->begin[k + 1] > lo;
    if (in && !e->present[k]) e->entry[k] = step;
    e->present[k] = in;
  }
  e->step = step;
}

// The training prompts of `step` (d at that step): `count` prompts uniform over
// the window, slot i from Philox (kPromptDraw, {step, i / 4, 0}) word i % 4.
ADVLAB_HD inline void DrawPrompts(const PoolModel& m, const PoolData& d, const Philox& rng,
                                  int64_t step, int count, int32_t* prompts) {
  (void)m;
  const uint32_t width = static_cast<uint32_t>(d.window_width);
  for (int slot = 0; slot < count; slot += 4) {
    Words4 w = rng.Draw(Purpose::kPromptDraw, static_cast<uint32_t>(step),
                        static_cast<uint32_t>(slot / 4), 0);
    for (int j = 0; j < 4 && slot + j < count; ++j) {
      prompts[slot + j] = d.window_start + static_cast<int32_t>(UniformIndex(w.w[j], width));
    }
  }
}

}  // namespace advlab

#endif  // ADVLAB_ENVS_POOL_STEP_H_
