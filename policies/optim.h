// Optimizers over a flat parameter vector.
//
// sgd:  p <- p - lr * g, on the touched blocks only (untouched blocks have g = 0).
// adam: Kingma & Ba (2015), PyTorch semantics without weight decay:
//         m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//         p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//       dense: every parameter moves every step (as in PyTorch), so the step
//       costs O(params). b^t is a running product (no pow on the result path).
// UpdateNorm (the update_norm metric): sgd lr |g|; adam the norm of its step.
// The updates are the host/device step functions of policies/optim_step.h;
// these classes are their virtual adaptors (Optimizer::Step).
#ifndef ADVLAB_POLICIES_OPTIM_H_
#define ADVLAB_POLICIES_OPTIM_H_

#include <cstdint>
#include <vector>

#include "policies/optim_step.h"
#include "sim/policy.h"

namespace advlab {

class Sgd : public Optimizer {
 public:
  explicit Sgd(double lr) : lr_(lr) {}
  bool Step(const SparseGrad& grad, int64_t step, double* params) override;
  double UpdateNorm(double grad_norm) const override { return lr_ * grad_norm; }

 private:
  double lr_;
};

class Adam : public Optimizer {
 public:
  Adam(int64_t num_params, double lr, double beta1, double beta2, double eps);
  bool Step(const SparseGrad& grad, int64_t step, double* params) override;
  double UpdateNorm(double) const override { return dm::Sqrt(state_.update_sq); }

 private:
  AdamState state_;        // hyper-parameters, b^t, the step; m and v point into:
  std::vector<double> m_;  // [params] first moment
  std::vector<double> v_;  // [params] second moment
};

}  // namespace advlab

#endif  // ADVLAB_POLICIES_OPTIM_H_
