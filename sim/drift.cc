#include "sim/drift.h"

#include <string>

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
    {"accuracy", DriftSchedule::Kind::kAccuracy},
    {"reintroduce", DriftSchedule::Kind::kReintroduce},
};

// FromConfig reads every drift key, but each acts only under its schedule (see
// WindowStart): the width under any moving window, stages under step and
// accuracy, period under cyclic, the walk step under random_walk, threshold and
// check interval under accuracy, band and removal span under reintroduce. Under
// another schedule a value would change nothing, so used_by names only the
// schedules that use it.
ADVLAB_REGISTER_KEY(env_drift,
                    KeySpec{.name = "env.drift",
                            .type = KeyType::kString,
                            .default_value = "none",
                            .help = "training-prompt difficulty drift: none, linear, step, cyclic, "
                                    "random_walk, accuracy (curriculum), reintroduce (forgetting)",
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
                            .used_by = UsedWhen("env.drift", {"linear", "step", "cyclic",
                                                              "random_walk", "accuracy"})});
ADVLAB_REGISTER_KEY(env_drift_stages,
                    KeySpec{.name = "env.drift_stages",
                            .type = KeyType::kInt,
                            .default_value = "4",
                            .help = "number of stages (windows easy -> hard) of the step and "
                                    "accuracy drift schedules",
                            .min = 2,
                            .max = 1e6,
                            .used_by = UsedWhen("env.drift", {"step", "accuracy"})});
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
ADVLAB_REGISTER_KEY(env_drift_threshold,
                    KeySpec{.name = "env.drift_threshold",
                            .type = KeyType::kFloat,
                            .default_value = "0.8",
                            .help = "accuracy drift: exact training accuracy at which the window "
                                    "moves up a stage",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWhen("env.drift", {"accuracy"})});
ADVLAB_REGISTER_KEY(env_drift_check_every,
                    KeySpec{.name = "env.drift_check_every",
                            .type = KeyType::kInt,
                            .default_value = "10",
                            .help = "accuracy drift: the training accuracy is checked before steps "
                                    "k * this, k >= 1",
                            .min = 1,
                            .max = 1e9,
                            .used_by = UsedWhen("env.drift", {"accuracy"})});
ADVLAB_REGISTER_KEY(env_drift_band,
                    KeySpec{.name = "env.drift_band",
                            .type = KeyType::kFloat,
                            .default_value = "0.25",
                            .help = "reintroduce drift: share of the pool (the easiest prompts) "
                                    "that leaves the training distribution",
                            .min = 0.0,
                            .max = 1.0,
                            .min_exclusive = true,
                            .max_exclusive = true,
                            .used_by = UsedWhen("env.drift", {"reintroduce"})});
ADVLAB_REGISTER_KEY(env_drift_remove_at,
                    KeySpec{.name = "env.drift_remove_at",
                            .type = KeyType::kInt,
                            .default_value = "250",
                            .help = "reintroduce drift: first step without the easy band",
                            .min = 0,
                            .max = 1e10,
                            .used_by = UsedWhen("env.drift", {"reintroduce"})});
ADVLAB_REGISTER_KEY(env_drift_remove_for,
                    KeySpec{.name = "env.drift_remove_for",
                            .type = KeyType::kInt,
                            .default_value = "250",
                            .help = "reintroduce drift: steps the easy band stays out (it is back "
                                    "at remove_at + this)",
                            .min = 1,
                            .max = 1e10,
                            .used_by = UsedWhen("env.drift", {"reintroduce"})});

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
  d.threshold = config.Float("env.drift_threshold");
  d.check_every = config.Int("env.drift_check_every");
  d.remove_at = config.Int("env.drift_remove_at");
  d.remove_for = config.Int("env.drift_remove_for");
  if (d.kind == Kind::kReintroduce) {
    // Round half up; at least one prompt leaves and at least one stays.
    d.band = static_cast<int32_t>(config.Float("env.drift_band") * num_prompts + 0.5);
    if (d.band < 1) d.band = 1;
    if (d.band > num_prompts - 1) {
      throw UserError("env.drift=reintroduce: env.drift_band must leave a prompt in training; "
                      "needs env.prompts >= 2, got " + std::to_string(num_prompts));
    }
  }
  if (d.kind == Kind::kNone || d.kind == Kind::kReintroduce) {
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
