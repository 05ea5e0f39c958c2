// Host/device step of the adora modifier (formula and citation:
// estimators/adora.h): one group's TAS/TDS judgement and weight, and the
// weighting of its advantages, plain arrays.
#ifndef ADVLAB_ESTIMATORS_ADORA_STEP_H_
#define ADVLAB_ESTIMATORS_ADORA_STEP_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/features.h"

namespace advlab {

// ADORA's options as plain data (keys estimator.adora_*).
struct AdoraOptions {
  enum class Criterion { kLength, kDifficulty, kBoth };
  enum class Mode { kAttenuate, kAmplify };
  enum class Variant { kPaper, kCode };
  // dynamic: judged from each step's rollouts; static: fixed at initialisation.
  enum class Labels { kDynamic, kStatic };
  Criterion criterion = Criterion::kDifficulty;
  Mode mode = Mode::kAmplify;
  Variant variant = Variant::kPaper;
  Labels labels = Labels::kDynamic;
  double tau = 0.5;     // difficulty: TAS iff success rate <= tau
  double lambda = 0.1;  // attenuate: weight of TDS prompts
  double weight = 2.0;  // amplify: weight of TAS prompts
};

// Whether a group of n >= 1 rollouts is temporarily advantageous: reward[0..n)
// (correct iff > 0.5), truncated[0..n) (0/1) and token_begin[0..n] (the
// rollouts' token offsets, L_i = token_begin[i + 1] - token_begin[i]).
ADVLAB_HD inline bool AdoraIsTas(const AdoraOptions& options, const double* reward,
                                 const uint8_t* truncated, const int32_t* token_begin, int n) {
  bool length_tas = true, difficulty_tas = true;
  if (options.criterion != AdoraOptions::Criterion::kDifficulty) {
    int max_correct = -1;  // -1: no correct rollout
    int64_t wrong_sum = 0, wrong_n = 0;
    for (int i = 0; i < n; ++i) {
      const int len = token_begin[i + 1] - token_begin[i];
      if (reward[i] > 0.5) {
        max_correct = len > max_correct ? len : max_correct;
      } else if (!truncated[i]) {
        wrong_sum += len;
        wrong_n += 1;
      }
    }
    const bool code = options.variant == AdoraOptions::Variant::kCode;
    if (max_correct < 0) {
      length_tas = !code;  // code: max over an empty set is -inf
    } else if (wrong_n == 0) {
      length_tas = true;   // mean over an empty set is -inf
    } else {
      // max_correct > wrong_sum / wrong_n, in integers (exact).
      length_tas = static_cast<int64_t>(max_correct) * wrong_n > wrong_sum;
    }
  }
  if (options.criterion != AdoraOptions::Criterion::kLength) {
    int successes = 0;
    for (int i = 0; i < n; ++i) successes += reward[i] > 0.5 ? 1 : 0;
    difficulty_tas = static_cast<double>(successes) / n <= options.tau;
  }
  return length_tas && difficulty_tas;
}

// The weight of a group judged TAS (or TDS): attenuate 1 / lambda, amplify
// weight / 1.
ADVLAB_HD inline double AdoraWeight(const AdoraOptions& options, bool is_tas) {
  return options.mode == AdoraOptions::Mode::kAttenuate ? (is_tas ? 1.0 : options.lambda)
                                                        : (is_tas ? options.weight : 1.0);
}

// Multiplies one group's n advantages by w, and, with token_adv non-null, its
// rollouts' token advantages (absolute indices token_begin[i] ..
// token_begin[i + 1] - 1; token_begin points at the group's first rollout's
// offset, token_adv at token 0). w == 1 changes no bit and is skipped.
ADVLAB_HD inline void AdoraScaleGroup(double w, int n, const int32_t* token_begin, double* adv,
                                      double* token_adv) {
  if (w == 1.0) return;  // x * 1 == x: skipping changes no bit
  for (int i = 0; i < n; ++i) {
    adv[i] *= w;
    if (token_adv == nullptr) continue;
    for (int t = token_begin[i]; t < token_begin[i + 1]; ++t) token_adv[t] *= w;
  }
}

// One group's whole ADORA step; returns whether it was judged TAS.
ADVLAB_HD inline bool AdoraGroup(const AdoraOptions& options, const double* reward,
                                 const uint8_t* truncated, const int32_t* token_begin, int n,
                                 double* adv, double* token_adv) {
  const bool is_tas = AdoraIsTas(options, reward, truncated, token_begin, n);
  AdoraScaleGroup(AdoraWeight(options, is_tas), n, token_begin, adv, token_adv);
  return is_tas;
}

// The static labelling's rule (labels = static, difficulty criterion): TAS iff
// the expected observed success rate of the initial policy on the prompt, q =
// fp + (1 - fp - fn) p0 (p0: its exact success probability; fp, fn: the
// verifier's noise rates), is <= tau; q = p0 exactly without noise.
ADVLAB_HD inline bool AdoraStaticTas(const AdoraOptions& options, double p0, double false_positive,
                                     double false_negative) {
  return false_positive + (1.0 - false_positive - false_negative) * p0 <= options.tau;
}

// The flip metric's memory (adora_flip_frac): last[p] is the label prompt p was
// last judged (-1 never, 0 TDS, 1 TAS), for p in [0, num_prompts). Records a
// group's label for `prompt`: a prompt judged before counts as re-judged, and
// as flipped when its label differs from that last one. Groups in batch order:
// a prompt twice in one batch is compared with its earlier group. num_prompts
// = 0 (no task bound): nothing is recorded.
ADVLAB_HD inline void AdoraRemember(int8_t* last, int32_t num_prompts, int32_t prompt, bool is_tas,
                                    int64_t* rejudged, int64_t* flipped) {
  if (num_prompts == 0) return;
  ADVLAB_HD_CHECK(prompt >= 0 && prompt < num_prompts);
  const int8_t label = is_tas ? 1 : 0;
  if (last[prompt] >= 0) {
    *rejudged += 1;
    *flipped += last[prompt] != label ? 1 : 0;
  }
  last[prompt] = label;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_ADORA_STEP_H_
