// Host/device steps of krpo and krpo_persistent (formula and citation:
// estimators/krpo.h): the 1-D Kalman filter's update and one group's
// advantages. Plain data, no allocation.
#ifndef ADVLAB_ESTIMATORS_KRPO_STEP_H_
#define ADVLAB_ESTIMATORS_KRPO_STEP_H_

#include "sim/dmath.h"
#include "sim/features.h"

namespace advlab {

inline constexpr double kKrpoX0 = 0.0;        // initial mean estimate (init_mean)
inline constexpr double kKrpoP0 = 1.0;        // initial variance (init_var)
inline constexpr double kKrpoQ = 1e-5;        // process variance (process_var)
inline constexpr double kKrpoR = 1e-2;        // measurement variance (meas_var)
inline constexpr double kKrpoEpsilon = 1e-8;  // added to sqrt(P) (the code's eps)

struct KalmanState {
  double x = kKrpoX0;  // mean estimate (reward units)
  double p = kKrpoP0;  // its variance
};

// One measurement z: P- = P + Q; K = P- / (P- + R); x <- x + K (z - x);
// P <- (1 - K) P-.
ADVLAB_HD inline void KalmanUpdate(double z, double q, double r, KalmanState* s) {
  const double p_pred = s->p + q;
  const double gain = p_pred / (p_pred + r);
  s->x = s->x + gain * (z - s->x);
  s->p = (1.0 - gain) * p_pred;
}

// One group of n rollouts through the filter *s in index order; each rollout's
// advantage uses the state AFTER its own update (the released code):
//   A_i = (R_i - x_i) / (sqrt(P_i) + 1e-8),  baseline[i] = x_i.
ADVLAB_HD inline void KrpoGroup(const double* reward, int n, double q, double r, KalmanState* s,
                                double* adv, double* baseline) {
  for (int i = 0; i < n; ++i) {
    KalmanUpdate(reward[i], q, r, s);
    adv[i] = (reward[i] - s->x) / (dm::Sqrt(s->p) + kKrpoEpsilon);
    baseline[i] = s->x;
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_KRPO_STEP_H_
