#include "sim/drift.h"

#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

ADVLAB_REGISTER_KEY(env_drift, KeySpec{"env.drift", KeyType::kString, "none",
                                       "training-prompt difficulty drift: none, linear, step, cyclic",
                                       -1e300, 1e300, false, {"none", "linear", "step", "cyclic"}, {}});
ADVLAB_REGISTER_KEY(env_drift_width,
                    KeySpec{"env.drift_width", KeyType::kFloat, "0.25",
                            "share of the pool (by difficulty) in the training window under drift",
                            0.0, 1.0, true, {}, {}});
ADVLAB_REGISTER_KEY(env_drift_stages, KeySpec{"env.drift_stages", KeyType::kInt, "4",
                                              "number of stages of the step drift schedule", 2,
                                              1e6, false, {}, {}});
ADVLAB_REGISTER_KEY(env_drift_period, KeySpec{"env.drift_period", KeyType::kInt, "1000",
                                              "period in steps of the cyclic drift schedule", 2,
                                              1e9, false, {}, {}});

DriftSchedule DriftSchedule::FromConfig(const Config& config, int32_t num_prompts) {
  DriftSchedule d;
  const std::string& kind = config.Str("env.drift");
  d.kind = kind == "linear" ? Kind::kLinear
           : kind == "step" ? Kind::kStep
           : kind == "cyclic" ? Kind::kCyclic
                              : Kind::kNone;
  d.num_prompts = num_prompts;
  d.steps = config.Int("train.steps");
  d.stages = config.Int("env.drift_stages");
  d.period = config.Int("env.drift_period");
  if (d.kind == Kind::kNone) {
    d.width = num_prompts;
  } else {
    // Round half up; at least one prompt.
    double w = config.Float("env.drift_width") * num_prompts + 0.5;
    d.width = static_cast<int32_t>(w);
    if (d.width < 1) d.width = 1;
    if (d.width > num_prompts) d.width = num_prompts;
  }
  return d;
}

int32_t DriftSchedule::WindowStart(int64_t step) const {
  const int64_t span = static_cast<int64_t>(num_prompts) - width;  // last start
  if (span <= 0) return 0;
  switch (kind) {
    case Kind::kNone:
      return 0;
    case Kind::kLinear: {
      if (steps <= 1) return 0;
      int64_t t = step < steps - 1 ? step : steps - 1;
      return static_cast<int32_t>(span * t / (steps - 1));
    }
    case Kind::kStep: {
      int64_t stage = step * stages / steps;
      if (stage > stages - 1) stage = stages - 1;
      return static_cast<int32_t>(span * stage / (stages - 1));
    }
    case Kind::kCyclic: {
      int64_t phase = step % period;
      int64_t rise = 2 * phase <= period ? 2 * phase : 2 * (period - phase);  // in [0, period]
      return static_cast<int32_t>(span * rise / period);
    }
  }
  return 0;
}

}  // namespace advlab
