#include "policies/optim.h"

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
  SgdStep(lr_, grad.View(), params);
  return false;
}

Adam::Adam(int64_t num_params, double lr, double beta1, double beta2, double eps)
    : m_(num_params, 0.0), v_(num_params, 0.0) {
  state_.lr = lr;
  state_.beta1 = beta1;
  state_.beta2 = beta2;
  state_.eps = eps;
  state_.num_params = num_params;
}

bool Adam::Step(const SparseGrad& grad, int64_t step, double* params) {
  ADVLAB_CHECK_EQ(step, state_.last_step + 1);  // bias corrections assume consecutive steps
  state_.m = m_.data();  // re-pointed: the optimizer may have been moved
  state_.v = v_.data();
  AdamStep(&state_, grad.value.data(), step, params);
  return true;
}

ADVLAB_REGISTER_OPTIMIZER(
    sgd, .name = "sgd",
    .description = "stochastic gradient descent, p -= lr * g",
    .make = [](const Config& c, int64_t) -> std::unique_ptr<Optimizer> {
      return std::make_unique<Sgd>(c.Float("optim.lr"));
    },
    .linear = true);
ADVLAB_REGISTER_OPTIMIZER(
    adam, .name = "adam",
    .description = "Adam (Kingma & Ba 2015), PyTorch semantics, dense, no weight decay",
    .make = [](const Config& c, int64_t n) -> std::unique_ptr<Optimizer> {
      return std::make_unique<Adam>(n, c.Float("optim.lr"), c.Float("optim.beta1"),
                                    c.Float("optim.beta2"), c.Float("optim.eps"));
    });

}  // namespace advlab
