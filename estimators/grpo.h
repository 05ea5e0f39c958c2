// grpo and dr_grpo: the group-mean baseline, with (grpo) or without (dr_grpo)
// division by the group's standard deviation.
//
//   per group g of size G:  G == 1: mu = 0, sigma = 1
//                           G  > 1: mu = mean(R_g), sigma = unbiased std(R_g) (n-1)
//   grpo:     A_i = (R_i - mu) / (sigma + 1e-6)
//   dr_grpo:  A_i =  R_i - mu
//
// Citations: GRPO, Shao et al. (2024), "DeepSeekMath", arXiv 2402.03300.
// Dr. GRPO, Liu et al. (2025), "Understanding R1-Zero-Like Training: A Critical
// Perspective", arXiv 2503.20783. Code: verl core_algos.py
// compute_grpo_outcome_advantage (`grpo`; dr_grpo is norm_adv_by_std_in_grpo=False)
// at b178a3cd; estimators.md §2.2. Dr. GRPO's other switch, the constant loss
// normaliser, belongs to the loss, not here.
//
// All-correct / all-wrong groups: every R_i equals the (exact) mean, so A = 0.0
// exactly for 0/1 rewards: no special case, it falls out of the arithmetic.
// Non-dyadic identical rewards are not guaranteed exact (in verl's float32,
// [0.3]*7 gives 0.0289 under grpo; in our double it happens to be 0.0).
// Singletons: mu = 0, sigma = 1, so the raw reward passes through (grpo:
// R/(1+1e-6), e.g. 0.7 -> 0.699999; dr_grpo: R). G = 2 with distinct rewards
// always gives +-1/sqrt(2) under grpo: the std is scale-free, so tiny reward
// differences are amplified to O(1) (§2.2, §11.2). Differences from verl: we
// compute in double, verl in float32 (see estimators_test.cc).
// needs_groups = true for both.
//
// Normalisation switches (keys; the defaults are the formulas above, bit for bit):
//   estimator.mean_scope     group | batch         mu: the group's mean (singleton 0)
//                                                  or the mean of every reward of the
//                                                  batch (index order)
//   estimator.scale_rewards  group | batch | none  sigma (grpo only): the group's
//                                                  unbiased std (singleton 1), the
//                                                  unbiased std of every reward of the
//                                                  batch around the batch mean (TRL
//                                                  scale_rewards="batch"; < 2 rewards:
//                                                  1), or none (sigma + eps := 1, which
//                                                  is dr_grpo bit for bit)
//   estimator.std_epsilon    eps added to sigma: verl 1e-6 (default), TRL 1e-4,
//                            OpenRLHF 1e-9
// TRL's scale_rewards (trl GRPOConfig, "group" | "batch" | "none") always keeps
// the group mean, so TRL's settings are mean_scope = group with the three values
// of scale_rewards and std_epsilon = 1e-4. dr_grpo reads mean_scope only.
#ifndef ADVLAB_ESTIMATORS_GRPO_H_
#define ADVLAB_ESTIMATORS_GRPO_H_

#include "estimators/grpo_step.h"
#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

enum class MeanScope { kGroup, kBatch };
enum class StdScope { kGroup, kBatch, kNone };

// The normalisation switches (defaults: verl grpo).
struct GrpoNorm {
  MeanScope mean = MeanScope::kGroup;
  StdScope std = StdScope::kGroup;
  double epsilon = kGrpoEpsilon;  // added to sigma (not inside a sqrt)
};

class GrpoEstimator : public Estimator {
 public:
  // verl's epsilon, added to sigma (not inside a sqrt).
  static constexpr double kEpsilon = kGrpoEpsilon;

  // normalize_by_std = true is `grpo`; false is `dr_grpo` (std none).
  explicit GrpoEstimator(bool normalize_by_std) : normalize_by_std_(normalize_by_std) {
    if (!normalize_by_std) norm_.std = StdScope::kNone;
  }
  GrpoEstimator(bool normalize_by_std, const GrpoNorm& norm)
      : normalize_by_std_(normalize_by_std), norm_(norm) {
    if (!normalize_by_std) norm_.std = StdScope::kNone;
  }
  // Reads the switches from context.config when set (training); unbound
  // (advlab advantage) keeps the constructor's.
  void Bind(const EstimatorContext& context) override;
  void Compute(Batch* batch) override;
  const GrpoNorm& norm() const { return norm_; }

 private:
  bool normalize_by_std_;
  GrpoNorm norm_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GRPO_H_
