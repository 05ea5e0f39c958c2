// Difficulty drift: the training prompt distribution at step t.
//
// Prompts of a pool are ordered by difficulty (id order = easy to hard). At each
// step the training prompts are drawn uniformly from a window of W = round(width
// * P) consecutive prompts whose start moves with the schedule:
//   none     the whole pool, every step
//   linear   start moves from the easiest (t = 0) to the hardest (t = T-1) window
//   step     `stages` equal stages, start jumping easy -> hard
//   cyclic   triangle wave with period `period` steps: easy -> hard -> easy
//   random_walk  start at the easiest window; each step the start moves by
//            +-stride (stride = round(walk_step * P), at least 1; the sign from
//            Philox, Purpose::kDrift, counter {step, 0, 0}), reflected at both
//            ends of the pool
//   accuracy a curriculum: `stages` windows placed as under `step`, stage 0 the
//            easiest; the stage moves up by one when the exact training accuracy
//            reaches `threshold` at a check step (every `check_every` steps). The
//            stage is run state (DriftWalk::stage), set by the host loop
//            (PoolTask::AdvanceTraining), which alone can ask the oracle.
//   reintroduce  the whole pool, except that during the steps
//            [remove_at, remove_at + remove_for) the easiest `band` prompts leave
//            it: the window is then [band, P) (forgetting, then relearning)
// Everything is integer arithmetic: the window is an exact function of
// (config, seed, step) -- and, under `accuracy`, of the stage -- identical on
// every platform.
//
// Plain data (host and device): DriftModel holds the schedule's parameters;
// DriftWindowStart(model, step, walk) gives the window start, closed-form for
// every schedule but the random walk, whose position it advances in `walk`
// (DriftWalk, per-run data) by O(1) per step, and the curriculum, whose stage it
// reads there; DriftWindowWidth gives the window's width (fixed but under
// reintroduce). DriftSchedule is the host class over them (read from the
// config; it caches the walk itself).
#ifndef ADVLAB_SIM_DRIFT_H_
#define ADVLAB_SIM_DRIFT_H_

#include <cstdint>

#include "sim/features.h"
#include "sim/rng.h"

namespace advlab {

class Config;

// The schedule's parameters; immutable for the run.
struct DriftModel {
  enum class Kind { kNone, kLinear, kStep, kCyclic, kRandomWalk, kAccuracy, kReintroduce };
  Kind kind = Kind::kNone;
  int32_t num_prompts = 0;  // P, the pool (prompt ids, easy -> hard)
  int32_t width = 0;        // W, prompts in the window (== num_prompts for kNone, kReintroduce)
  int64_t steps = 1;        // train.steps (kLinear, kStep)
  int64_t stages = 4;       // kStep, kAccuracy: number of stages
  int64_t period = 100;     // kCyclic: period in steps
  int32_t stride = 1;       // kRandomWalk: prompts moved per step (>= 1)
  uint64_t seed = 0;        // kRandomWalk: the run's seed (Philox key)
  double threshold = 0.8;   // kAccuracy: training accuracy that moves the stage up
  int64_t check_every = 10; // kAccuracy: the accuracy is checked at steps k * check_every, k >= 1
  int32_t band = 0;         // kReintroduce: the easiest prompts [0, band) leave ...
  int64_t remove_at = 0;    // ... at this step ...
  int64_t remove_for = 0;   // ... for this many steps
};

// Whether the easy band is out of the training distribution at `step` (kReintroduce).
ADVLAB_HD inline bool DriftBandRemoved(const DriftModel& m, int64_t step) {
  return m.kind == DriftModel::Kind::kReintroduce && step >= m.remove_at &&
         step - m.remove_at < m.remove_for;
}

// Prompts in the window at `step`: W, or P - band while the band is out.
ADVLAB_HD inline int32_t DriftWindowWidth(const DriftModel& m, int64_t step) {
  return DriftBandRemoved(m, step) ? m.num_prompts - m.band : m.width;
}

// The schedule's run state. The random walk's position: the window start `pos`
// after step `step`, a pure function of (model, step); {0, 0} is the start of
// every run. The curriculum's stage (kAccuracy), in [0, stages - 1]: moved only
// by the accuracy checks, never by a replay.
struct DriftWalk {
  int64_t step = 0;   // step the position is at
  int64_t pos = 0;    // window start there, in [0, P - W]
  int64_t stage = 0;  // kAccuracy: the current stage
};

// First prompt of the window at `step`; the window is [start, start + W). For
// the random walk, moves `walk` to `step` first (forward: one Philox draw per
// step; backward: replays from step 0); the curriculum reads its stage there.
// Other schedules leave `walk` alone.
ADVLAB_HD inline int32_t DriftWindowStart(const DriftModel& m, int64_t step, DriftWalk* walk) {
  using Kind = DriftModel::Kind;
  if (m.kind == Kind::kReintroduce) return DriftBandRemoved(m, step) ? m.band : 0;
  const int64_t span = static_cast<int64_t>(m.num_prompts) - m.width;  // last start
  if (span <= 0) return 0;
  switch (m.kind) {
    case Kind::kNone:
      return 0;
    case Kind::kLinear: {
      if (m.steps <= 1) return 0;
      int64_t t = step < m.steps - 1 ? step : m.steps - 1;
      return static_cast<int32_t>(span * t / (m.steps - 1));
    }
    case Kind::kStep: {
      int64_t stage = step * m.stages / m.steps;
      if (stage > m.stages - 1) stage = m.stages - 1;
      return static_cast<int32_t>(span * stage / (m.stages - 1));
    }
    case Kind::kCyclic: {
      int64_t phase = step % m.period;
      int64_t rise = 2 * phase <= m.period ? 2 * phase : 2 * (m.period - phase);  // in [0, period]
      return static_cast<int32_t>(span * rise / m.period);
    }
    case Kind::kRandomWalk: {
      if (step < walk->step) walk->step = 0, walk->pos = 0;  // went back: replay
      const int64_t stride_c = m.stride < span ? m.stride : span;
      const Philox rng(m.seed);
      int64_t t = walk->step, pos = walk->pos;
      while (t < step) {
        ++t;
        const uint32_t w = rng.Draw(Purpose::kDrift, static_cast<uint32_t>(t), 0, 0).w[0];
        int64_t x = pos + ((w & 1u) ? stride_c : -stride_c);
        if (x < 0) x = -x;               // reflect at the easy end
        if (x > span) x = 2 * span - x;  // and at the hard end
        pos = x;
      }
      walk->step = t;
      walk->pos = pos;
      return static_cast<int32_t>(pos);
    }
    case Kind::kAccuracy: {
      const int64_t stage = walk->stage < m.stages - 1 ? walk->stage : m.stages - 1;
      return static_cast<int32_t>(span * stage / (m.stages - 1));
    }
    case Kind::kReintroduce:
      return 0;  // handled above
  }
  return 0;
}

// The host schedule: DriftModel read from the config, with its own walk cache.
struct DriftSchedule : DriftModel {
  // Reads the env.drift* keys and train.steps; throws UserError for impossible
  // combinations.
  static DriftSchedule FromConfig(const Config& config, int32_t num_prompts, uint64_t seed);

  const DriftModel& model() const { return *this; }

  // First prompt of the window at step t; the window is [start, start +
  // WindowWidth(t)). Under `accuracy`, the window of stage 0 (the run's stage
  // is in PoolTask's data).
  int32_t WindowStart(int64_t step) const { return DriftWindowStart(*this, step, &walk_); }
  int32_t WindowWidth(int64_t step) const { return DriftWindowWidth(*this, step); }

 private:
  mutable DriftWalk walk_;  // random-walk cache (a pure function of the step)
};

}  // namespace advlab

#endif  // ADVLAB_SIM_DRIFT_H_
