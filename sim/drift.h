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
// (config, seed, step), identical on every platform. The random walk caches its
// position so that increasing steps cost O(1) each.
#ifndef ADVLAB_SIM_DRIFT_H_
#define ADVLAB_SIM_DRIFT_H_

#include <cstdint>
#include <string>

namespace advlab {

class Config;

struct DriftSchedule {
  enum class Kind { kNone, kLinear, kStep, kCyclic, kRandomWalk };
  Kind kind = Kind::kNone;
  int32_t num_prompts = 0;
  int32_t width = 0;     // prompts in the window (== num_prompts for kNone)
  int64_t steps = 1;     // train.steps
  int64_t stages = 4;    // kStep
  int64_t period = 100;  // kCyclic
  int32_t stride = 1;    // kRandomWalk
  uint64_t seed = 0;     // kRandomWalk

  // Reads env.drift, env.drift_width, env.drift_stages, env.drift_period and
  // train.steps; throws UserError for impossible combinations.
  static DriftSchedule FromConfig(const Config& config, int32_t num_prompts, uint64_t seed);

  // First prompt of the window at step t; the window is [start, start + width).
  int32_t WindowStart(int64_t step) const;

 private:
  // Random-walk cache: position at walk_step_ (a pure function of the step).
  mutable int64_t walk_step_ = 0;
  mutable int64_t walk_pos_ = 0;
};

}  // namespace advlab

#endif  // ADVLAB_SIM_DRIFT_H_
