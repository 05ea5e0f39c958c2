// Host/device step of the dash modifier (formula and citation:
// estimators/dash.h): the |A| <= threshold filter, plain arrays.
#ifndef ADVLAB_ESTIMATORS_DASH_STEP_H_
#define ADVLAB_ESTIMATORS_DASH_STEP_H_

#include <cstdint>

#include "sim/features.h"

namespace advlab {

// n rollouts (a group or the whole batch): a rollout with |adv[i]| <= threshold
// is dropped (kept[i] = 0) and its advantage zeroed; the others are left alone
// (kept[i] as it was: 1, or 0 if an earlier filter dropped it).
ADVLAB_HD inline void DashFilter(double threshold, int n, double* adv, uint8_t* kept) {
  for (int i = 0; i < n; ++i) {
    const double a = adv[i];
    if ((a < 0.0 ? -a : a) <= threshold) {  // |a|, as std::fabs for the comparison
      kept[i] = 0;
      adv[i] = 0.0;
    }
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_DASH_STEP_H_
