#include "estimators/krpo.h"

#include <algorithm>
#include <memory>

#include "estimators/group_stats.h"
#include "sim/check.h"
#include "sim/config.h"
#include "sim/task.h"

namespace advlab {
namespace {

// Read when the estimator chain's base is krpo or krpo_persistent.
KeyUse UsedByKrpo() {
  KeyUse u = UsedWithEstimator("krpo");
  u.when = "estimator.name has krpo or krpo_persistent (or train.match_update's baseline does)";
  u.test = [a = u.test, b = UsedWithEstimator("krpo_persistent").test](const Config& c) {
    return a(c) || b(c);
  };
  return u;
}

}  // namespace

ADVLAB_REGISTER_KEY(estimator_krpo_q,
                    KeySpec{.name = "estimator.krpo_q",
                            .type = KeyType::kFloat,
                            .default_value = "1e-05",
                            .help = "krpo, krpo_persistent: process variance Q of the reward's "
                                    "Kalman filter, >= 0",
                            .min = 0.0,
                            .max = 1e6,
                            .used_by = UsedByKrpo()});
ADVLAB_REGISTER_KEY(estimator_krpo_r,
                    KeySpec{.name = "estimator.krpo_r",
                            .type = KeyType::kFloat,
                            .default_value = "0.01",
                            .help = "krpo, krpo_persistent: measurement variance R of the "
                                    "reward's Kalman filter, > 0",
                            .min = 0.0,
                            .max = 1e6,
                            .min_exclusive = true,
                            .used_by = UsedByKrpo()});

void KrpoEstimator::Bind(const EstimatorContext& context) {
  ADVLAB_CHECK(seen_.empty());
  if (context.config != nullptr) {
    q_ = context.config->Float("estimator.krpo_q");
    r_ = context.config->Float("estimator.krpo_r");
  }
  if (persistent_ && context.task != nullptr) {
    filter_.assign(static_cast<size_t>(context.task->num_prompts()), KalmanState{});
    seen_.assign(filter_.size(), 0);
  }
}

void KrpoEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  double* base = batch->baseline.data();
  const int32_t* group_begin = batch->group_begin.data();
  const int32_t* prompt = batch->prompt.data();
  ForEachGroup(batch, [&](int g, const double* reward, int n, double* adv) {
    if (n == 0) return;
    KalmanState fresh;
    KalmanState* s = &fresh;
    if (persistent_) {
      ADVLAB_CHECK_GE(prompt[g], 0);
      const size_t p = static_cast<size_t>(prompt[g]);
      if (p >= seen_.size()) {
        const size_t size = std::max(p + 1, 2 * seen_.size());
        seen_.resize(size, 0);
        filter_.resize(size, KalmanState{});
      }
      if (seen_[p] == 0) {
        seen_[p] = 1;
        filter_[p] = KalmanState{};
      }
      s = &filter_[p];
    }
    KrpoGroup(reward, n, q_, r_, s, adv, base + group_begin[g]);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    krpo, .name = "krpo",
    .description = "KRPO: a fresh 1-D Kalman filter per group over its rewards in order, A = "
                   "(R - x) / (sqrt(P) + 1e-8) after each update (the released code)",
    .make = [] { return std::make_unique<KrpoEstimator>(false); });

ADVLAB_REGISTER_ESTIMATOR(
    krpo_persistent, .name = "krpo_persistent",
    .description = "KRPO with one Kalman filter per prompt carried across steps (stateful; "
                   "estimator.krpo_q, estimator.krpo_r)",
    .make = [] { return std::make_unique<KrpoEstimator>(true); });

}  // namespace advlab
