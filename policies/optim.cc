#include "policies/optim.h"

#include <cmath>
#include <memory>

#include "sim/check.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(optim_lr, KeySpec{.name = "optim.lr",
                                      .type = KeyType::kFloat,
                                      .default_value = "0.5",
                                      .help = "learning rate (> 0)",
                                      .min = 0.0,
                                      .max = 1e6,
                                      .min_exclusive = true});
ADVLAB_REGISTER_KEY(optim_beta1, KeySpec{.name = "optim.beta1",
                                         .type = KeyType::kFloat,
                                         .default_value = "0.9",
                                         .help = "adam: first-moment decay",
                                         .min = 0.0,
                                         .max = 0.999999,
                                         .used_by = UsedWhen("optim.name", {"adam"})});
ADVLAB_REGISTER_KEY(optim_beta2, KeySpec{.name = "optim.beta2",
                                         .type = KeyType::kFloat,
                                         .default_value = "0.999",
                                         .help = "adam: second-moment decay",
                                         .min = 0.0,
                                         .max = 0.999999999,
                                         .used_by = UsedWhen("optim.name", {"adam"})});
ADVLAB_REGISTER_KEY(optim_eps, KeySpec{.name = "optim.eps",
                                       .type = KeyType::kFloat,
                                       .default_value = "1e-8",
                                       .help = "adam: denominator epsilon (> 0)",
                                       .min = 0.0,
                                       .max = 1.0,
                                       .min_exclusive = true,
                                       .used_by = UsedWhen("optim.name", {"adam"})});

bool Sgd::Step(const SparseGrad& grad, int64_t, double* params) {
  const int64_t bs = grad.block_size;
  for (int32_t b : grad.touched) {
    double* p = params + static_cast<int64_t>(b) * bs;
    const double* g = grad.value.data() + static_cast<int64_t>(b) * bs;
    for (int64_t i = 0; i < bs; ++i) p[i] -= lr_ * g[i];
  }
  return false;
}

Adam::Adam(int64_t num_params, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(num_params, 0.0), v_(num_params, 0.0) {}

bool Adam::Step(const SparseGrad& grad, int64_t step, double* params) {
  ADVLAB_CHECK_EQ(step, last_step_ + 1);  // bias corrections assume consecutive steps
  last_step_ = step;
  beta1_pow_ *= beta1_;
  beta2_pow_ *= beta2_;
  const double c1 = 1.0 - beta1_pow_;
  const double c2 = 1.0 - beta2_pow_;
  const double* g = grad.value.data();
  const int64_t n = static_cast<int64_t>(m_.size());
  for (int64_t i = 0; i < n; ++i) {
    m_[i] = beta1_ * m_[i] + (1.0 - beta1_) * g[i];
    v_[i] = beta2_ * v_[i] + (1.0 - beta2_) * (g[i] * g[i]);
    const double mhat = m_[i] / c1;
    const double vhat = v_[i] / c2;
    params[i] -= lr_ * mhat / (std::sqrt(vhat) + eps_);  // IEEE sqrt: correctly rounded
  }
  return true;
}

ADVLAB_REGISTER_OPTIMIZER(
    sgd, .name = "sgd",
    .description = "stochastic gradient descent, p -= lr * g",
    .make = [](const Config& c, int64_t) -> std::unique_ptr<Optimizer> {
      return std::make_unique<Sgd>(c.Float("optim.lr"));
    });
ADVLAB_REGISTER_OPTIMIZER(
    adam, .name = "adam",
    .description = "Adam (Kingma & Ba 2015), PyTorch semantics, dense, no weight decay",
    .make = [](const Config& c, int64_t n) -> std::unique_ptr<Optimizer> {
      return std::make_unique<Adam>(n, c.Float("optim.lr"), c.Float("optim.beta1"),
                                    c.Float("optim.beta2"), c.Float("optim.eps"));
    });

}  // namespace advlab
