// Compile-only (tests/hd_compile_test.sh): estimators/'s host/device step
// functions called from a kernel — the group statistics, every group
// estimator's per-group step (grpo, dr_grpo, rloo, reinforce, opo, gpg,
// reinforce_pp, ema_baseline, oracle, remax), gae's kernels and the modifiers'
// steps (aapo, adora with its static rule and label memory, dash, dapo's
// judgement).
#include "estimators/aapo_step.h"
#include "estimators/adora_step.h"
#include "estimators/dapo_step.h"
#include "estimators/dash_step.h"
#include "estimators/ema_baseline_step.h"
#include "estimators/gae_step.h"
#include "estimators/gpg_step.h"
#include "estimators/group_kernels.h"
#include "estimators/grpo_step.h"
#include "estimators/opo_step.h"
#include "estimators/oracle_step.h"
#include "estimators/reinforce_pp_step.h"
#include "estimators/reinforce_step.h"
#include "estimators/remax_step.h"
#include "estimators/rloo_step.h"

namespace advlab {

// One group per thread: rollouts [group_begin[g], group_begin[g + 1]).
__global__ void EstimatorsKernel(const double* reward, const double* ref, const uint8_t* truncated,
                                 const int32_t* group_begin, const int32_t* token_begin,
                                 const double* token_reward, EmaState ema, double* adv,
                                 double* token_adv, uint8_t* kept, int8_t* last_label,
                                 double* sink) {
  const int g = static_cast<int>(threadIdx.x);
  const int first = group_begin[g];
  const int n = group_begin[g + 1] - first;
  const double* r = reward + first;
  double* a = adv + first;
  const int32_t* tb = token_begin + first;

  const GroupMoments m = VerlGroupMoments(r, n);
  double s = GroupSum(r, n) + GroupMean(r, n) + m.mean + m.stddev;
  if (n >= 2) s += GroupUnbiasedStd(r, n, m.mean);

  GrpoGroup(r, n, true, a);
  GrpoGroup(r, n, false, a);
  RlooGroup(r, n, a);
  ReinforceRollouts(r, n, a);
  OpoGroup(r, tb, n, a);
  GpgGroup(r, n, GpgAlpha(reward, group_begin[blockDim.x]), a);
  CenterGroup(r, n, a);
  EmaBaselineGroup(r, n, 0.9, ema, g, a);
  OracleGroup(r, n, OracleNoise{0.05, 0.85}, 0.5, a);
  s += OracleBaseline(OracleNoise{}, 0.25);
  RemaxGroup(r, n, 0.5, tb, token_reward, a, token_adv);
  RemaxGroup(r, n, 0.5, tb, nullptr, a, nullptr);

  AapoOptions aapo;
  AapoGroup(aapo, r, ref + first, n, kept + first, tb, a, token_adv);
  aapo.pairing = AapoOptions::Pairing::kRefMean;
  AapoGroup(aapo, r, ref + first, n, nullptr, tb, a, nullptr);
  s += AapoClip(0.5, 0.2, 0.28);

  AdoraOptions adora;
  adora.criterion = AdoraOptions::Criterion::kBoth;
  const bool tas = AdoraIsTas(adora, r, truncated + first, tb, n);
  AdoraScaleGroup(AdoraWeight(adora, tas), n, tb, a, token_adv);
  s += AdoraGroup(adora, r, truncated + first, tb, n, a, nullptr) ? 1.0 : 0.0;
  s += AdoraStaticTas(adora, r[0], 0.1, 0.05) ? 1.0 : 0.0;

  DashFilter(0.1, n, a, kept + first);
  s += ZeroVarianceGroup(r, n) ? 1.0 : 0.0;
  sink[g] = s;

  // Batch-wide steps: one thread.
  if (g == 0) {
    // ADORA's label memory, in group order (a prompt may recur in a batch).
    int64_t rejudged = 0, flipped = 0;
    for (int h = 0; h < static_cast<int>(blockDim.x); ++h) {
      AdoraRemember(last_label, static_cast<int32_t>(blockDim.x), h, reward[group_begin[h]] > 0.5,
                    &rejudged, &flipped);
    }
    const int groups = static_cast<int>(blockDim.x);
    const int rollouts = group_begin[groups];
    ReinforcePpBatch(reward, group_begin, groups, token_begin, true, adv);
    TokenWeightedWhiten(token_begin, rollouts, adv);
    const WhitenStats ws = MaskedWhitenStats(adv, rollouts, RolloutLengthWeight{token_begin});
    const WhitenStats wu = MaskedWhitenStats(adv, rollouts, UnitWeight{});
    const int tokens = token_begin[rollouts];
    GaeAdvantages(token_reward, token_reward, token_begin, rollouts, 1.0, 0.95, token_adv,
                  token_adv);
    WhitenTokens(token_adv, tokens);
    sink[groups] =
        ws.mean + ws.stddev + wu.mean + wu.stddev + static_cast<double>(rejudged + flipped);
  }
}

}  // namespace advlab
