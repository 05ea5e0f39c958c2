// Host/device steps of bnpo (formula and citation: estimators/bnpo.h): the
// in-house log-gamma, the Beta density, the moment fit over the group means and
// one group's advantages. Plain data, no allocation, no libm.
#ifndef ADVLAB_ESTIMATORS_BNPO_STEP_H_
#define ADVLAB_ESTIMATORS_BNPO_STEP_H_

#include "estimators/group_kernels.h"
#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

inline constexpr double kBnpoMaxWeight = 1e6;  // the code's clamp of 1 / pdf

// log Gamma(x) for x > 0 (finite), deterministic: shifted up to z >= 10 by the
// recurrence (one product, one log), then Stirling's series to the 1/z^9 term
// (truncation < 2e-14 / z^11 at z >= 10); below 10 the shift costs ~1e-14
// absolute (cancellation against log of the product). Only
// + - * / and dm::Log. Accuracy vs std::lgamma: tests (dynamic_baselines_test).
ADVLAB_HD inline double BnpoLogGamma(double x) {
  // Exact zeros at 1 and 2 (the fit's floor alpha = beta = 1 must give pdf 1
  // exactly); elsewhere below 10 the shift's log cancels to ~1e-14 absolute.
  if (x == 1.0 || x == 2.0) return 0.0;
  double shift = 1.0;
  double z = x;
  while (z < 10.0) {
    shift *= z;
    z += 1.0;
  }
  const double inv = 1.0 / z, inv2 = inv * inv;
  // 1/(12z) - 1/(360z^3) + 1/(1260z^5) - 1/(1680z^7) + 1/(1188z^9), Horner in 1/z^2.
  const double series =
      inv * (1.0 / 12.0 +
             inv2 * (-1.0 / 360.0 + inv2 * (1.0 / 1260.0 + inv2 * (-1.0 / 1680.0 +
                                                                    inv2 * (1.0 / 1188.0)))));
  constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 log(2 pi)
  const double stirling = (z - 0.5) * dm::Log(z) - z + kHalfLog2Pi + series;
  return shift == 1.0 ? stirling : stirling - dm::Log(shift);
}

// torch.xlogy: 0 when c == 0 (whatever x), else c log x.
ADVLAB_HD inline double BnpoXLogY(double c, double x) { return c == 0.0 ? 0.0 : c * dm::Log(x); }

// The Beta(a, b) density at p (a, b >= 1): 0 outside [0, 1]; inside, exp of
// xlogy(a-1, p) + xlogy(b-1, 1-p) + lgamma(a+b) - lgamma(a) - lgamma(b), as
// torch.distributions.Beta(a, b).log_prob(p).exp().
ADVLAB_HD inline double BnpoBetaPdf(double p, double a, double b) {
  if (!(p >= 0.0 && p <= 1.0)) return 0.0;
  const double log_pdf = BnpoXLogY(a - 1.0, p) + BnpoXLogY(b - 1.0, 1.0 - p) +
                         BnpoLogGamma(a + b) - BnpoLogGamma(a) - BnpoLogGamma(b);
  return dm::Exp(log_pdf);
}

struct BnpoShape {
  double alpha = 1.0;
  double beta = 1.0;
};

// The moment fit over the batch's m group means p[0..m) (the released code):
//   m > 1: mu = mean(p), var = unbiased var(p); m <= 1: mu = 0, var = 1
//   a = (mu (1 - mu) / var - 1) mu,  b = (mu (1 - mu) / var - 1) (1 - mu)
//   alpha = max(1, 1 + a/3),  beta = max(1, 1 + b/3)
// Deviation: var == 0 (all group means equal; torch divides by 0 and gives NaN
// advantages) or a non-finite shape gives alpha = beta = 1 (weight 1).
ADVLAB_HD inline BnpoShape BnpoFit(const double* p, int m) {
  double mu = 0.0, var = 1.0;
  if (m > 1) {
    // Unbiased (torch .var) as sum d^2 / (m - 1), two-pass, index order.
    mu = GroupMean(p, m);
    double ss = 0.0;
    for (int i = 0; i < m; ++i) {
      const double d = p[i] - mu;
      ss += d * d;
    }
    var = ss / static_cast<double>(m - 1);
  }
  BnpoShape s;
  if (!(var > 0.0)) return s;
  const double c = mu * (1.0 - mu) / var - 1.0;
  const double a = 1.0 + c * mu / 3.0, b = 1.0 + c * (1.0 - mu) / 3.0;
  s.alpha = a > 1.0 ? a : 1.0;
  s.beta = b > 1.0 ? b : 1.0;
  const double inf = 1e308 * 10.0;
  if (!(s.alpha < inf && s.beta < inf)) s = BnpoShape{};
  return s;
}

// A group's p: its mean reward, 0 for a singleton (the code, as verl's grpo).
ADVLAB_HD inline double BnpoGroupP(const double* reward, int n) {
  return n > 1 ? GroupMean(reward, n) : 0.0;
}

// One group of n rollouts with mean p: w = min(1 / pdf(p), 1e6) (1e6 when pdf
// is 0), A_i = w (R_i - p), baseline[i] = p.
ADVLAB_HD inline void BnpoGroup(const double* reward, int n, double p, BnpoShape shape,
                                double* adv, double* baseline) {
  const double pdf = BnpoBetaPdf(p, shape.alpha, shape.beta);
  const double inv = pdf > 0.0 ? 1.0 / pdf : kBnpoMaxWeight;
  const double w = inv < kBnpoMaxWeight ? inv : kBnpoMaxWeight;
  for (int i = 0; i < n; ++i) {
    adv[i] = w * (reward[i] - p);
    baseline[i] = p;
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_BNPO_STEP_H_
