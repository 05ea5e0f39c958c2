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
// Everything is integer arithmetic: the window is an exact function of
// (config, seed, step), identical on every platform.
//
// Plain data (host and device): DriftModel holds the schedule's parameters;
// DriftWindowStart(model, step, walk) gives the window start, closed-form for
// every schedule but the random walk, whose position it advances in `walk`
// (DriftWalk, per-run data) by O(1) per step. DriftSchedule is the host class
// over them (read from the config; it caches the walk itself).
#ifndef ADVLAB_SIM_DRIFT_H_
#define ADVLAB_SIM_DRIFT_H_

#include <cstdint>

#include "sim/features.h"
#include "sim/rng.h"

namespace advlab {

class Config;

// The schedule's parameters; immutable for the run.
struct DriftModel {
  enum class Kind { kNone, kLinear, kStep, kCyclic, kRandomWalk };
  Kind kind = Kind::kNone;
  int32_t num_prompts = 0;  // P, the pool (prompt ids, easy -> hard)
  int32_t width = 0;        // W, prompts in the window (== num_prompts for kNone)
  int64_t steps = 1;        // train.steps (kLinear, kStep)
  int64_t stages = 4;       // kStep: number of stages
  int64_t period = 100;     // kCyclic: period in steps
  int32_t stride = 1;       // kRandomWalk: prompts moved per step (>= 1)
  uint64_t seed = 0;        // kRandomWalk: the run's seed (Philox key)
};

// The random walk's position: the window start `pos` after step `step`. A pure
// function of (model, step); {0, 0} is the start of every run.
struct DriftWalk {
  int64_t step = 0;  // step the position is at
  int64_t pos = 0;   // window start there, in [0, P - W]
};

// First prompt of the window at `step`; the window is [start, start + W). For
// the random walk, moves `walk` to `step` first (forward: one Philox draw per
// step; backward: replays from step 0). Other schedules leave `walk` alone.
ADVLAB_HD inline int32_t DriftWindowStart(const DriftModel& m, int64_t step, DriftWalk* walk) {
  using Kind = DriftModel::Kind;
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
  }
  return 0;
}

// The host schedule: DriftModel read from the config, with its own walk cache.
struct DriftSchedule : DriftModel {
  // Reads env.drift, env.drift_width, env.drift_stages, env.drift_period and
  // train.steps; throws UserError for impossible combinations.
  static DriftSchedule FromConfig(const Config& config, int32_t num_prompts, uint64_t seed);

  const DriftModel& model() const { return *this; }

  // First prompt of the window at step t; the window is [start, start + width).
  int32_t WindowStart(int64_t step) const { return DriftWindowStart(*this, step, &walk_); }

 private:
  mutable DriftWalk walk_;  // random-walk cache (a pure function of the step)
};

}  // namespace advlab

#endif  // ADVLAB_SIM_DRIFT_H_
