// Host/device step of the aapo modifier (formula and citation:
// estimators/aapo.h): one group's clipped margin over the reference policy's
// rewards (an input: the loop's sampler draws them, `advlab advantage` reads
// --reference), added to the advantages, plain arrays.
#ifndef ADVLAB_ESTIMATORS_AAPO_STEP_H_
#define ADVLAB_ESTIMATORS_AAPO_STEP_H_

#include <cstdint>

#include "sim/features.h"

namespace advlab {

// AAPO's options as plain data (keys estimator.aapo_pairing, _low, _high).
struct AapoOptions {
  enum class Pairing { kPairwise, kRefMean };
  Pairing pairing = Pairing::kPairwise;
  double low = 0.2;    // the margin is clipped below at -low (reward units)
  double high = 0.28;  // and above at +high
};

// clip(delta, -low, high), as std::clamp (a NaN passes through).
ADVLAB_HD inline double AapoClip(double delta, double low, double high) {
  const double lo = -low;
  return delta < lo ? lo : (high < delta ? high : delta);
}

// One group of n rollouts: reward[0..n) and the reference rewards ref[0..n)
// (index-paired). For every rollout not dropped before (kept null, or
// kept[i] != 0): adv[i] += clip(R_i - ref, -low, high), ref = ref[i] (pairwise)
// or the group's reference mean (ref_mean, summed in index order); with
// token_adv non-null the same margin is added to the rollout's tokens, absolute
// indices token_begin[i] .. token_begin[i + 1] - 1 (token_begin points at the
// group's first rollout's offset; token_adv at token 0).
ADVLAB_HD inline void AapoGroup(const AapoOptions& options, const double* reward,
                                const double* ref, int n, const uint8_t* kept,
                                const int32_t* token_begin, double* adv, double* token_adv) {
  const bool ref_mean = options.pairing == AapoOptions::Pairing::kRefMean;
  double mean = 0.0;
  if (ref_mean) {
    for (int i = 0; i < n; ++i) mean += ref[i];  // fixed order: reproducible
    mean /= n;
  }
  for (int i = 0; i < n; ++i) {
    // A rollout a filter (dash) dropped is out of the update; it keeps A = 0.
    if (kept != nullptr && kept[i] == 0) continue;
    const double margin = AapoClip(reward[i] - (ref_mean ? mean : ref[i]), options.low,
                                   options.high);
    adv[i] += margin;
    if (token_adv == nullptr) continue;
    for (int t = token_begin[i]; t < token_begin[i + 1]; ++t) token_adv[t] += margin;
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_AAPO_STEP_H_
