#include "sim/drift.h"

#include "sim/config.h"
#include "sim/error.h"
#include "sim/rng.h"

namespace advlab {

static constexpr EnumName<DriftSchedule::Kind> kDriftNames[] = {
    {"none", DriftSchedule::Kind::kNone},
    {"linear", DriftSchedule::Kind::kLinear},
    {"step", DriftSchedule::Kind::kStep},
    {"cyclic", DriftSchedule::Kind::kCyclic},
    {"random_walk", DriftSchedule::Kind::kRandomWalk},
};

// FromConfig reads every drift key, but each acts only under its schedule (see
// WindowStart): the width under any drift, stages under step, period under
// cyclic, the walk step under random_walk. Under another schedule a value would
// change nothing, so used_by names only the schedule that uses it.
ADVLAB_REGISTER_KEY(env_drift,
                    KeySpec{.name = "env.drift",
                            .type = KeyType::kString,
                            .default_value = "none",
                            .help = "training-prompt difficulty drift: none, linear, step, cyclic, "
                                    "random_walk",
                            .choices = EnumNames(kDriftNames)});
ADVLAB_REGISTER_KEY(env_drift_width,
                    KeySpec{.name = "env.drift_width",
                            .type = KeyType::kFloat,
                            .default_value = "0.25",
                            .help = "share of the pool (by difficulty) in the training window "
                                    "under drift",
                            .min = 0.0,
                            .max = 1.0,
                            .min_exclusive = true,
                            .used_by = UsedUnless("env.drift", "none")});
ADVLAB_REGISTER_KEY(env_drift_stages,
                    KeySpec{.name = "env.drift_stages",
                            .type = KeyType::kInt,
                            .default_value = "4",
                            .help = "number of stages of the step drift schedule",
                            .min = 2,
                            .max = 1e6,
                            .used_by = UsedWhen("env.drift", {"step"})});
ADVLAB_REGISTER_KEY(env_drift_period,
                    KeySpec{.name = "env.drift_period",
                            .type = KeyType::kInt,
                            .default_value = "1000",
                            .help = "period in steps of the cyclic drift schedule",
                            .min = 2,
                            .max = 1e9,
                            .used_by = UsedWhen("env.drift", {"cyclic"})});
ADVLAB_REGISTER_KEY(env_drift_walk_step,
                    KeySpec{.name = "env.drift_walk_step",
                            .type = KeyType::kFloat,
                            .default_value = "0.01",
                            .help = "random_walk: share of the pool the window moves per step",
                            .min = 0.0,
                            .max = 1.0,
                            .min_exclusive = true,
                            .used_by = UsedWhen("env.drift", {"random_walk"})});

DriftSchedule DriftSchedule::FromConfig(const Config& config, int32_t num_prompts, uint64_t seed) {
  DriftSchedule d;
  d.kind = EnumValue(kDriftNames, config.Str("env.drift"));
  d.num_prompts = num_prompts;
  d.steps = config.Int("train.steps");
  d.stages = config.Int("env.drift_stages");
  d.period = config.Int("env.drift_period");
  d.seed = seed;
  d.stride = static_cast<int32_t>(config.Float("env.drift_walk_step") * num_prompts + 0.5);
  if (d.stride < 1) d.stride = 1;
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

}  // namespace advlab
