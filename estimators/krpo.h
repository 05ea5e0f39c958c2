// krpo and krpo_persistent: a 1-D Kalman filter on the reward as the baseline
// (Wang et al., "Kalman Filter Enhanced Group Relative Policy Optimization for
// Language Model Reasoning", arXiv 2505.07527; code billhhh/KRPO_LLMs_RL,
// train.py KalmanFilter / group_advantages, read at df1ae2b).
//
//   state (x, P), x0 = 0, P0 = 1; per rollout i in index order, z = R_i:
//     P- = P + Q;  K = P- / (P- + R);  x <- x + K (z - x);  P <- (1 - K) P-
//     A_i = (R_i - x) / (sqrt(P) + 1e-8)          x, P AFTER rollout i's update
//   Q = 1e-5 (estimator.krpo_q), R = 1e-2 (estimator.krpo_r).
//
// Verified against the released code: group_advantages builds a NEW filter for
// each prompt's group (x0 = 0, P0 = 1), feeds the group's returns one by one in
// order, and takes each advantage from the filter's (x, P) as update() returns
// them, i.e. AFTER the rollout's own measurement — not the predicted x of the
// paper's prose / zoo.md ("(r - x_pred)/sqrt(P)") — with eps = 1e-8 added to
// sqrt(P). So the rollout's own reward is in its baseline (a biased baseline,
// gain ~0.99 at the first rollout), and the result DEPENDS ON ROLLOUT ORDER:
// [1, 0] and [0, 1] do not give mirrored advantages (tests check it). The code
// runs in float32; we compute in double.
//
// `krpo` is the released code: a fresh filter per group. `krpo_persistent` is
// the "dynamic" reading (zoo.md): one filter per prompt id, created at the
// prompt's first group with (x0, P0) and carried across groups and steps
// (stateful; Clone copies it). Its P falls towards the steady state
// ~sqrt(Q R) = 3.2e-4 (Q << R), so advantages grow to ~56 (R - x): a scale
// Adam ignores and SGD does not.
//
// All-correct / all-wrong groups: not zero (the filter starts at x0 = 0 and
// lags: [1, 1] gives 0.0995, 0.0497 under krpo). Singletons: fine (needs_groups
// = false; a singleton is one filter update). batch->baseline[r] = the x the
// rollout was compared with (after its update). Unbound (`advlab advantage`)
// both run with the default Q and R; every input line is a new prompt, so
// krpo_persistent equals krpo there.
#ifndef ADVLAB_ESTIMATORS_KRPO_H_
#define ADVLAB_ESTIMATORS_KRPO_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "estimators/krpo_step.h"
#include "sim/estimator.h"

namespace advlab {

class KrpoEstimator : public Estimator {
 public:
  // persistent = false is `krpo`, true is `krpo_persistent`.
  explicit KrpoEstimator(bool persistent, double q = kKrpoQ, double r = kKrpoR)
      : persistent_(persistent), q_(q), r_(r) {}
  void Bind(const EstimatorContext& context) override;
  std::unique_ptr<Estimator> Clone() const override {
    if (!persistent_) return nullptr;
    return std::make_unique<KrpoEstimator>(*this);
  }
  void Compute(Batch* batch) override;

 private:
  bool persistent_;
  double q_, r_;
  std::vector<KalmanState> filter_;  // [prompt] krpo_persistent's filters
  std::vector<uint8_t> seen_;        // [prompt]
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_KRPO_H_
