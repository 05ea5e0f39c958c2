#include "estimators/ema_baseline.h"

#include <algorithm>
#include <memory>

#include "estimators/ema_baseline_step.h"
#include "estimators/group_stats.h"
#include "sim/check.h"
#include "sim/config.h"
#include "sim/error.h"

namespace advlab {

static constexpr EnumName<EmaScope> kEmaScopeNames[] = {
    {"prompt", EmaScope::kPrompt},
    {"global", EmaScope::kGlobal},
};

ADVLAB_REGISTER_KEY(estimator_ema_beta,
                    KeySpec{.name = "estimator.ema_beta",
                            .type = KeyType::kFloat,
                            .default_value = "0.9",
                            .help = "ema_baseline: decay of the running baseline, b <- beta b + "
                                    "(1 - beta) group mean, in [0, 1)",
                            .min = 0.0,
                            .max = 1.0,
                            .max_exclusive = true,
                            .used_by = UsedWithEstimator("ema_baseline")});
ADVLAB_REGISTER_KEY(estimator_ema_scope,
                    KeySpec{.name = "estimator.ema_scope",
                            .type = KeyType::kString,
                            .default_value = "prompt",
                            .help = "ema_baseline: one running baseline per prompt (prompt) or one "
                                    "for all prompts (global)",
                            .choices = EnumNames(kEmaScopeNames),
                            .used_by = UsedWithEstimator("ema_baseline")});

EmaBaselineEstimator::EmaBaselineEstimator(double beta, EmaScope scope)
    : beta_(beta), scope_(scope) {
  ADVLAB_CHECK(beta >= 0.0 && beta < 1.0);
}

EmaScope EmaBaselineEstimator::ParseScope(const std::string& text) {
  for (const auto& e : kEmaScopeNames)
    if (text == e.name) return e.value;
  throw UserError("key 'estimator.ema_scope': unknown value '" + text +
                  "'; allowed: " + JoinNames(EnumNames(kEmaScopeNames)));
}

void EmaBaselineEstimator::Bind(const EstimatorContext& context) {
  ADVLAB_CHECK(seen_.empty());  // before any Compute: the state is still empty
  if (context.config == nullptr) return;
  const double beta = context.config->Float("estimator.ema_beta");
  ADVLAB_CHECK(beta >= 0.0 && beta < 1.0);  // the key's range
  beta_ = beta;
  scope_ = EnumValue(kEmaScopeNames, context.config->Str("estimator.ema_scope"));
}

size_t EmaBaselineEstimator::Slot(int32_t prompt) const {
  if (scope_ == EmaScope::kGlobal) return 0;
  ADVLAB_CHECK_GE(prompt, 0);
  return static_cast<size_t>(prompt);
}

bool EmaBaselineEstimator::HasBaseline(int32_t prompt) const {
  const size_t s = Slot(prompt);
  return s < seen_.size() && seen_[s] != 0;
}

double EmaBaselineEstimator::Baseline(int32_t prompt) const {
  ADVLAB_CHECK(HasBaseline(prompt));
  return baseline_[Slot(prompt)];
}

void EmaBaselineEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  const int32_t* prompts = batch->prompt.data();
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  double* baseline = batch->baseline.data();
  const int32_t* group_begin = batch->group_begin.data();
  ForEachGroup(batch, [this, prompts, baseline, group_begin](int g, const double* reward, int n,
                                                             double* adv) {
    if (n == 0) return;  // no rollouts: nothing observed, no update (nor growth)
    const size_t s = Slot(prompts[g]);
    if (s >= seen_.size()) {
      // Grow geometrically so that a run allocates O(log prompts) times.
      const size_t size = std::max(s + 1, 2 * seen_.size());
      seen_.resize(size, 0);
      baseline_.resize(size, 0.0);
    }
    const EmaState state{baseline_.data(), seen_.data(), static_cast<int64_t>(seen_.size())};
    // The baseline this group uses: b_p before its update (the group's own
    // mean at the prompt's first group), as EmaBaselineGroup takes it.
    const double b = seen_[s] != 0 ? baseline_[s] : GroupMean(reward, n);
    for (int i = 0; i < n; ++i) baseline[group_begin[g] + i] = b;
    EmaBaselineGroup(reward, n, beta_, state, static_cast<int64_t>(s), adv);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    ema_baseline, .name = "ema_baseline",
    .description = "REINFORCE with a running baseline: A = R - b_p, then b_p <- beta b_p + "
                   "(1 - beta) group mean (stateful; estimator.ema_beta, estimator.ema_scope)",
    .make = [] { return std::make_unique<EmaBaselineEstimator>(); });

}  // namespace advlab
