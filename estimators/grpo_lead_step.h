// Host/device step of the grpo_lead modifier (formula and citation:
// estimators/grpo_lead.h): the difficulty weight and one group's reweighting.
#ifndef ADVLAB_ESTIMATORS_GRPO_LEAD_STEP_H_
#define ADVLAB_ESTIMATORS_GRPO_LEAD_STEP_H_

#include <cstdint>

#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

// w(x) = 0.4 + 1.1 / (1 + e^{10 (x - 0.75)})  (A = 0.4, B = 1.5, k = 10, x0 = 0.75).
ADVLAB_HD inline double GrpoLeadWeight(double x) {
  return 0.4 + 1.1 / (1.0 + dm::Exp(10.0 * (x - 0.75)));
}

// Scales one value by the weight its sign selects: w(rho) for a > 0,
// w(1 - rho) for a < 0, unchanged for a == 0.
ADVLAB_HD inline double GrpoLeadScale(double a, double w_pos, double w_neg) {
  return a > 0.0 ? a * w_pos : (a < 0.0 ? a * w_neg : a);
}

// One group of n rollouts: rho = #{R_i > 0.5} / n (the accuracy the trainer
// observes); every advantage (and every token advantage of the group's
// rollouts when token_adv is not null) is scaled by its own sign's weight.
ADVLAB_HD inline void GrpoLeadGroup(const double* reward, int n, const int32_t* token_begin,
                                    double* adv, double* token_adv) {
  if (n == 0) return;
  int correct = 0;
  for (int i = 0; i < n; ++i) correct += reward[i] > 0.5 ? 1 : 0;
  const double rho = static_cast<double>(correct) / static_cast<double>(n);
  const double w_pos = GrpoLeadWeight(rho), w_neg = GrpoLeadWeight(1.0 - rho);
  for (int i = 0; i < n; ++i) {
    adv[i] = GrpoLeadScale(adv[i], w_pos, w_neg);
    if (token_adv == nullptr) continue;
    for (int32_t t = token_begin[i]; t < token_begin[i + 1]; ++t) {
      token_adv[t] = GrpoLeadScale(token_adv[t], w_pos, w_neg);
    }
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GRPO_LEAD_STEP_H_
