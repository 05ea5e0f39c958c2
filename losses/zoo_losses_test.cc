// The second-generation losses (issue 14): gspo, gmpo, cispo, sapo, clip_cov,
// kl_cov, ppo's two-sided clip (train.clip_delta), the KL variants (abs, k1+,
// k3+) and the adaptive KL controller.
//   - hand-derived reference values from the verl / TRL formulas;
//   - where a loss and ppo / pg coincide, bit for bit;
//   - the loop's gradient against central differences of the loss (tabular
//     logits, stop-gradient factors and the prepass's marks held fixed);
//   - clip_cov's random pick: counter-based, uniform, fresh per update;
//   - the adaptive controller's coefficient, three steps by hand;
//   - determinism: the same config twice gives the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "losses/cispo.h"
#include "losses/clip_cov.h"
#include "losses/gmpo.h"
#include "losses/gspo.h"
#include "losses/kl_cov.h"
#include "losses/ppo.h"
#include "losses/sapo.h"
#include "sim/error.h"
#include "sim/loop.h"

namespace advlab {
namespace {

constexpr double kLn2 = 0.69314718055994530942;

LossRollout Rollout(const std::vector<double>& old_lp, const std::vector<double>& lp, double adv,
                    double weight, const std::vector<double>* token_adv = nullptr) {
  LossRollout r;
  r.len = static_cast<int>(lp.size());
  r.weight = weight;
  r.advantage = adv;
  r.token_advantage = token_adv ? token_adv->data() : nullptr;
  r.logprob_old = old_lp.data();
  r.logprob = lp.data();
  return r;
}

// ---- gspo ------------------------------------------------------------------------

// estimators.md §3.2: sequence 0 has log r = [0.1, 0.3], A = +1; sequence 1
// [-0.4, 0, -0.2], A = -1; eps 3e-4 / 4e-4. s = [e^0.2, e^-0.2], both clipped;
// seq-mean-token-mean loss (-1.0004 + 0.9997) / 2 = -0.00035.
TEST(ZooLossesTest, GspoMatchesVerlVector) {
  const GspoLoss gspo(GspoParams{3e-4, 4e-4});
  const std::vector<double> old0 = {-1.0, -1.0}, lp0 = {-0.9, -0.7};
  const std::vector<double> old1 = {-1.0, -1.0, -1.0}, lp1 = {-1.4, -1.0, -1.2};
  const LossRollout r0 = Rollout(old0, lp0, 1.0, 1.0 / (2 * 2));
  const LossRollout r1 = Rollout(old1, lp1, -1.0, 1.0 / (2 * 3));
  EXPECT_NEAR(dm::Exp(GspoLogRatio(r0, r0.logprob)), 1.221403, 1e-6);
  EXPECT_NEAR(dm::Exp(GspoLogRatio(r1, r1.logprob)), 0.818731, 1e-6);
  EXPECT_NEAR(gspo.Value(r0) + gspo.Value(r1), -0.000350, 1e-12);
  std::vector<double> c0(2), c1(3);
  int64_t clipped = 0;
  gspo.Coefficients(r0, c0.data(), &clipped);
  gspo.Coefficients(r1, c1.data(), &clipped);
  EXPECT_EQ(clipped, 5);  // clipfrac 1.0
  for (double c : c0) EXPECT_EQ(c, 0.0);
  for (double c : c1) EXPECT_EQ(c, 0.0);
  // Inside the clip range every token carries -A s w.
  const GspoLoss wide(GspoParams{0.5, 0.5});
  wide.Coefficients(r1, c1.data(), &clipped);
  for (double c : c1) EXPECT_NEAR(c, std::exp(-0.2) / 6, 1e-15);
  // The value clamp at log s = 10 stops the gradient.
  const std::vector<double> old2 = {-12.0}, lp2 = {-0.5};
  std::vector<double> c2(1);
  wide.Coefficients(Rollout(old2, lp2, -1.0, 1.0), c2.data(), &clipped);
  EXPECT_EQ(c2[0], 0.0);
}

// One-token responses: s = r and gspo is ppo with the same clip range and no
// dual clip, bit for bit (|log r| < 10).
TEST(ZooLossesTest, GspoWithOneTokenIsPpoBitForBit) {
  const GspoLoss gspo(GspoParams{0.2, 0.28});
  const PpoLoss ppo(0.2, 0.28, 0.0);
  for (double adv : {1.3, -0.7, 0.0, 2.0}) {
    for (double d : {-3.0, -0.3, -0.05, 0.0, 0.1, 0.2, 0.27, 0.4, 2.5, 9.0}) {
      const std::vector<double> old_lp = {-1.1}, lp = {-1.1 + d};
      const LossRollout r = Rollout(old_lp, lp, adv, 0.37);
      double a = 0.0, b = 0.0;
      int64_t ca = 0, cb = 0;
      gspo.Coefficients(r, &a, &ca);
      ppo.Coefficients(r, &b, &cb);
      EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << adv << " " << d;
      EXPECT_EQ(ca, cb) << adv << " " << d;
      EXPECT_EQ(gspo.Value(r), ppo.Value(r)) << adv << " " << d;
    }
  }
}

// ---- gmpo ------------------------------------------------------------------------

// log r = [0.5, -0.1, 0.2], A = +1, eps 0.4 (log space): d~ = [0.4, -0.1, 0.2],
// rho = e^{0.5/3}; A = -1 with [0.5, -0.6, 0.2]: d~ = [0.5, -0.4, 0.2], rho = e^0.1.
// Under seq-mean-token-mean (one rollout, w = 1/3) the loss is -A rho and the
// coefficient -A rho w where the clip is inactive.
TEST(ZooLossesTest, GmpoHandValues) {
  const GmpoLoss gmpo(GmpoParams{0.4, 0.4});
  const std::vector<double> old_lp = {-1.0, -1.0, -1.0};
  const std::vector<double> lp_pos = {-0.5, -1.1, -0.8}, lp_neg = {-0.5, -1.6, -0.8};
  std::vector<double> c(3);
  int64_t clipped = 0;
  const LossRollout pos = Rollout(old_lp, lp_pos, 1.0, 1.0 / 3);
  const double rho_pos = 1.1813604128656459;  // e^{1/6}
  EXPECT_NEAR(gmpo.Value(pos), -rho_pos, 1e-12);
  gmpo.Coefficients(pos, c.data(), &clipped);
  EXPECT_EQ(c[0], 0.0);
  EXPECT_NEAR(c[1], -rho_pos / 3, 1e-12);
  EXPECT_NEAR(c[2], -rho_pos / 3, 1e-12);
  EXPECT_EQ(clipped, 1);
  const LossRollout neg = Rollout(old_lp, lp_neg, -1.0, 1.0 / 3);
  const double rho_neg = 1.1051709180756477;  // e^{0.1}
  EXPECT_NEAR(gmpo.Value(neg), rho_neg, 1e-12);
  gmpo.Coefficients(neg, c.data(), &clipped);
  EXPECT_NEAR(c[0], rho_neg / 3, 1e-12);
  EXPECT_EQ(c[1], 0.0);
  EXPECT_NEAR(c[2], rho_neg / 3, 1e-12);
  EXPECT_EQ(clipped, 2);
  // Per-token advantages: every token weighs the mean advantage; A_t = 0
  // contributes d~ = 0 and no gradient.
  const std::vector<double> adv = {2.0, 0.0, 1.0};
  const std::vector<double> lp_small = {-0.9, -1.3, -1.05};
  gmpo.Coefficients(Rollout(old_lp, lp_small, 0.0, 0.5, &adv), c.data(), &clipped);
  const double rho = std::exp((0.1 + 0.0 - 0.05) / 3);
  EXPECT_NEAR(c[0], -1.0 * rho * 0.5, 1e-12);
  EXPECT_EQ(c[1], 0.0);
  EXPECT_NEAR(c[2], -1.0 * rho * 0.5, 1e-12);
}

// ---- cispo -----------------------------------------------------------------------

// estimators.md §3.8: the 8 (A, r) cases of §3.1 in one row, token-mean,
// eps 0.2 / 0.28: dL/dlog pi = -clip(r) A / 8.
TEST(ZooLossesTest, CispoMatchesVerlVector) {
  const double adv[] = {+1, +1, -1, -1, -1, +1, -1, +1};
  const double ratio[] = {1.5, 0.5, 0.5, 1.5, 4.0, 1.0, 1.0, 1.25};
  const double want[] = {-0.16, -0.10, 0.10, 0.16, 0.16, -0.125, 0.125, -0.15625};
  const CispoLoss cispo(CispoParams{0.2, 0.28});
  std::vector<double> old_lp(8, -2.0), lp(8), a(adv, adv + 8), coef(8);
  for (int i = 0; i < 8; ++i) lp[i] = -2.0 + std::log(ratio[i]);
  int64_t clipped = 0;
  cispo.Coefficients(Rollout(old_lp, lp, 0.0, 1.0 / 8, &a), coef.data(), &clipped);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(coef[i], want[i], 1e-12) << i;
  EXPECT_EQ(clipped, 5);  // r != clip(r): 1.5, 0.5, 0.5, 1.5, 4.0
  // The clipped tokens keep their gradient (ppo's would be 0).
  EXPECT_NE(coef[0], 0.0);
  // At r = 1 the weight is 1: pg's coefficient -A w, bit for bit.
  const std::vector<double> same = {-0.7, -1.9};
  std::vector<double> c(2);
  cispo.Coefficients(Rollout(same, same, 0.37, 0.25), c.data(), &clipped);
  EXPECT_EQ(c[0], -0.37 * 0.25);
  EXPECT_EQ(c[1], -0.37 * 0.25);
}

// ---- sapo ------------------------------------------------------------------------

// f(r) = sigmoid(tau (r - 1)) 4 / tau, tau = 1 (A > 0) or 1.05; l = -f A,
// dl/dlog pi = -A 4 sigma (1 - sigma) r. Values from the formula in float64.
TEST(ZooLossesTest, SapoHandValues) {
  struct Row {
    double adv, ratio, loss, grad;
  };
  const Row rows[] = {
      {1, 1.5, -2.489837324807, -1.410022273210},  {1, 0.5, -1.510162675193, -0.470007424403},
      {-1, 1.5, 2.393585479220, 1.401209734928},   {-1, 0.5, 1.415938330303, 0.467069911643},
      {1, 1.0, -2.000000000000, -1.000000000000},  {-1, 1.0, 1.904761904762, 1.000000000000},
      {2, 3.0, -7.046376623823, -2.519846049684},
  };
  const SapoParams p;  // 1.0, 1.05
  for (const Row& row : rows) {
    const SapoToken t = SapoTokenLoss(p, row.adv, std::log(row.ratio));
    EXPECT_NEAR(t.loss, row.loss, 1e-11) << row.adv << " " << row.ratio;
    EXPECT_NEAR(t.dlogp, row.grad, 1e-11) << row.adv << " " << row.ratio;
  }
  // f'(1) = 1 exactly: on-policy sapo is pg bit for bit.
  EXPECT_EQ(SapoTokenLoss(p, 0.37, 0.0).dlogp, -0.37);
  EXPECT_EQ(SapoTokenLoss(p, -1.25, 0.0).dlogp, 1.25);
  // A = 0 takes tau_neg (verl: A <= 0) and has no gradient.
  EXPECT_EQ(SapoTokenLoss(p, 0.0, 0.3).dlogp, 0.0);
  // The gate decays on both sides, faster for negative advantages.
  EXPECT_LT(std::fabs(SapoTokenLoss(p, -1.0, std::log(3.0)).dlogp),
            std::fabs(SapoTokenLoss(p, 1.0, std::log(3.0)).dlogp));
}

// ---- ppo's two-sided clip (TRL delta) --------------------------------------------

TEST(ZooLossesTest, PpoTwoSidedClipFollowsTrl) {
  // TRL: -min(min(r, delta) A, clip(r, 1 - eps, 1 + eps) A).
  // A < 0, r = 4 > delta = 2: l = max(1 * 2, 1 * 1.2) = 2, no gradient.
  PpoToken t = PpoTokenLoss(-1.0, std::log(4.0), 0.2, 0.2, 0.0, 2.0);
  EXPECT_NEAR(t.loss, 2.0, 1e-15);
  EXPECT_EQ(t.dlogp, 0.0);
  EXPECT_TRUE(t.delta_clipped);
  // A < 0, r = 1.5 < delta: unchanged, l = 1.5, gradient +1.5.
  t = PpoTokenLoss(-1.0, std::log(1.5), 0.2, 0.2, 0.0, 2.0);
  EXPECT_NEAR(t.loss, 1.5, 1e-15);
  EXPECT_NEAR(t.dlogp, 1.5, 1e-15);
  // delta below 1 + eps caps A > 0 tokens too (TRL caps every token):
  // A = +1, r = 1.15, delta = 1.1: l = max(-1.1, -1.15) = -1.1, no gradient.
  t = PpoTokenLoss(1.0, std::log(1.15), 0.2, 0.2, 0.0, 1.1);
  EXPECT_NEAR(t.loss, -1.1, 1e-15);
  EXPECT_EQ(t.dlogp, 0.0);
  // ... and r = 1.05 < delta keeps its gradient.
  EXPECT_NEAR(PpoTokenLoss(1.0, std::log(1.05), 0.2, 0.2, 0.0, 1.1).dlogp, -1.05, 1e-15);
  // With delta >= 1 + eps_high it is the dual clip at c = delta.
  for (double d : {-0.5, 0.1, 0.4, 0.9, 1.5}) {
    const PpoToken a = PpoTokenLoss(-0.8, d, 0.2, 0.28, 0.0, 2.5);
    const PpoToken b = PpoTokenLoss(-0.8, d, 0.2, 0.28, 2.5);
    EXPECT_EQ(a.loss, b.loss) << d;
    EXPECT_EQ(a.dlogp, b.dlogp) << d;
  }
  // Off (0): every §3.1 row as before, bit for bit.
  for (double adv : {1.0, -1.0}) {
    for (double r : {0.5, 1.0, 1.25, 1.5, 4.0}) {
      const PpoToken a = PpoTokenLoss(adv, std::log(r), 0.2, 0.28, 3.0, 0.0);
      const PpoToken b = PpoTokenLoss(adv, std::log(r), 0.2, 0.28, 3.0);
      EXPECT_EQ(std::memcmp(&a.loss, &b.loss, sizeof a.loss), 0);
      EXPECT_EQ(std::memcmp(&a.dlogp, &b.dlogp, sizeof a.dlogp), 0);
    }
  }
  // The key: 0 or above 1.
  EXPECT_THROW(Config::Resolve({{"train.loss", "ppo"}, {"train.clip_delta", "0.9"}}), UserError);
  EXPECT_NO_THROW(Config::Resolve({{"train.loss", "ppo"}, {"train.clip_delta", "1.5"}}));
}

// ---- clip_cov / kl_cov: the batch prepass -----------------------------------------

struct PrepassBatch {
  std::vector<std::vector<double>> old_lp, lp, adv;
  std::vector<LossRollout> rollouts;
  std::vector<int32_t> first;
  std::vector<std::vector<uint8_t>> marks;
  std::vector<uint8_t*> mark_ptr;
  LossBatch Make(uint64_t seed, uint32_t step, uint32_t update) {
    rollouts.clear();
    first.clear();
    marks.assign(lp.size(), {});
    mark_ptr.clear();
    int32_t t = 0;
    for (size_t i = 0; i < lp.size(); ++i) {
      rollouts.push_back(Rollout(old_lp[i], lp[i], 0.0, 0.1, &adv[i]));
      first.push_back(t);
      t += static_cast<int32_t>(lp[i].size());
      marks[i].assign(lp[i].size(), 7);
      mark_ptr.push_back(marks[i].data());
    }
    LossBatch b;
    b.rollouts = rollouts.data();
    b.n = static_cast<int>(rollouts.size());
    b.first_token = first.data();
    b.mark = mark_ptr.data();
    b.rng = Philox(seed);
    b.step = step;
    b.update = update;
    return b;
  }
};

// A = [2, 2, -2, -2], log pi = [-0.1, -2, -0.1, -2] (on-policy): mean A = 0,
// mean log pi = -1.05, cov = [1.9, -1.9, -1.9, 1.9].
PrepassBatch CovBatch() {
  PrepassBatch pb;
  pb.lp = {{-0.1, -2.0}, {-0.1, -2.0}};
  pb.old_lp = pb.lp;
  pb.adv = {{2.0, 2.0}, {-2.0, -2.0}};
  return pb;
}

TEST(ZooLossesTest, KlCovPenalisesTheTopCovarianceTokens) {
  PrepassBatch pb = CovBatch();
  // k = max(1, floor(2e-4 * 4)) = 1: tokens 0 and 3 tie at 1.9, the lower index wins.
  const KlCovLoss one(KlCovParams{2e-4, 0.1});
  one.Prepass(pb.Make(1, 0, 0));
  EXPECT_EQ(pb.marks, (std::vector<std::vector<uint8_t>>{{1, 0}, {0, 0}}));
  // ratio 0.5: k = 2, tokens 0 and 3.
  const KlCovLoss two(KlCovParams{0.5, 0.1});
  two.Prepass(pb.Make(1, 0, 0));
  EXPECT_EQ(pb.marks, (std::vector<std::vector<uint8_t>>{{1, 0}, {0, 1}}));
  // verl's per-token loss on a marked token: -A r + coef |log r|; gradient
  // -A r + coef sign(log r); at log r = 0 the subgradient 0 (pg's coefficient).
  KlCovToken t = KlCovTokenLoss(0.1, 2.0, -0.3, true);
  EXPECT_NEAR(t.loss, -2.0 * std::exp(-0.3) + 0.03, 1e-15);
  EXPECT_NEAR(t.dlogp, -2.0 * std::exp(-0.3) - 0.1, 1e-15);
  t = KlCovTokenLoss(0.1, 2.0, 0.0, true);
  EXPECT_EQ(t.dlogp, -2.0);
  // Unmarked: no clip at all, -A r.
  EXPECT_NEAR(KlCovTokenLoss(0.1, 1.0, std::log(3.0), false).dlogp, -3.0, 1e-14);
}

TEST(ZooLossesTest, ClipCovPicksUniformlyAmongCandidates) {
  // Candidates: tokens 0 and 3 (cov 1.9 in (1, 5)); k = 1.
  PrepassBatch pb = CovBatch();
  const ClipCovLoss loss(ClipCovParams{0.2, 0.2, 2e-4, 1.0, 5.0});
  int picked[4] = {0, 0, 0, 0};
  const int kUpdates = 4000;
  for (uint32_t u = 0; u < kUpdates; ++u) {
    loss.Prepass(pb.Make(42, 3, u));
    int count = 0;
    for (int i = 0; i < 2; ++i) {
      for (int t = 0; t < 2; ++t) {
        ASSERT_LE(pb.marks[i][t], 1);
        picked[2 * i + t] += pb.marks[i][t];
        count += pb.marks[i][t];
      }
    }
    ASSERT_EQ(count, 1);
  }
  EXPECT_EQ(picked[1], 0);  // cov -1.9: never a candidate
  EXPECT_EQ(picked[2], 0);
  // Binomial(4000, 1/2): sd 31.6; 5 sd.
  EXPECT_NEAR(picked[0], kUpdates / 2, 160);
  EXPECT_NEAR(picked[3], kUpdates / 2, 160);
  // Counter-based: the same coordinates give the same pick.
  loss.Prepass(pb.Make(42, 3, 17));
  const auto first = pb.marks;
  loss.Prepass(pb.Make(42, 3, 17));
  EXPECT_EQ(pb.marks, first);
  // Tokens PPO already clips are not candidates: move token 0 far off-policy
  // with A > 0 (r = e^1 > 1.2).
  pb.lp[0][0] = 0.9;
  int zero = 0;
  for (uint32_t u = 0; u < 50; ++u) {
    loss.Prepass(pb.Make(42, 3, u));
    zero += pb.marks[0][0];
  }
  EXPECT_EQ(zero, 0);
  // A picked token has no loss and no gradient; clip_frac counts it.
  PrepassBatch on = CovBatch();
  const ClipCovLoss all(ClipCovParams{0.2, 0.2, 0.5, 1.0, 5.0});  // k = 2: both candidates
  all.Prepass(on.Make(1, 0, 0));
  EXPECT_EQ(on.marks, (std::vector<std::vector<uint8_t>>{{1, 0}, {0, 1}}));
  LossRollout r = on.rollouts[0];
  r.mark = on.marks[0].data();
  std::vector<double> c(2);
  int64_t clipped = 0;
  all.Coefficients(r, c.data(), &clipped);
  EXPECT_EQ(c[0], 0.0);
  EXPECT_EQ(c[1], -2.0 * 0.1);
  EXPECT_EQ(clipped, 1);
  EXPECT_NEAR(all.Value(r), 0.1 * -2.0, 1e-15);
}

// ---- KL variants -------------------------------------------------------------------

TEST(ZooLossesTest, KlVariantsMatchVerlVectors) {
  const double x[] = {kLn2, -kLn2, 0.0};
  const double abs_v[] = {0.693147, 0.693147, 0.0}, abs_g[] = {1.0, -1.0, 0.0};
  const double k3[] = {0.193147, 0.306853, 0.0};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(KlPenalty(KlEstimator::kAbs, x[i]).value, abs_v[i], 1e-6);
    EXPECT_EQ(KlPenalty(KlEstimator::kAbs, x[i]).dlogp, abs_g[i]);
    // k1+: the value of k1, the gradient of k2.
    EXPECT_EQ(KlPenalty(KlEstimator::kK1Plus, x[i]).value, KlPenalty(KlEstimator::kK1, x[i]).value);
    EXPECT_EQ(KlPenalty(KlEstimator::kK1Plus, x[i]).dlogp, KlPenalty(KlEstimator::kK2, x[i]).dlogp);
    // k3+ (estimators.md §5.1): value [0.193147, 0.306853, 0], gradient
    // [0.693147, -0.693147, 0].
    EXPECT_NEAR(KlPenalty(KlEstimator::kK3Plus, x[i]).value, k3[i], 1e-6);
    EXPECT_EQ(KlPenalty(KlEstimator::kK3Plus, x[i]).value, KlPenalty(KlEstimator::kK3, x[i]).value);
    EXPECT_EQ(KlPenalty(KlEstimator::kK3Plus, x[i]).dlogp, x[i]);
  }
  // k3+ keeps k3's value clamp but not a gradient clamp (k2's has none).
  EXPECT_EQ(KlPenalty(KlEstimator::kK3Plus, -30.0).value, 10.0);
  EXPECT_EQ(KlPenalty(KlEstimator::kK3Plus, -30.0).dlogp, -30.0);
  // The key's values are verl's names.
  for (const char* name : {"abs", "k1+", "k3+"}) {
    EXPECT_NO_THROW(Config::Resolve({{"kl.coef", "0.1"}, {"kl.estimator", name}})) << name;
  }
}

// ---- adaptive KL controller --------------------------------------------------------

TEST(ZooLossesTest, AdaptiveKlControllerByHand) {
  // estimators.md §5.3: beta0 = 0.2, target 6, horizon 1e4, n = 256; each KL
  // from beta0: 9 -> 0.201024, 3 -> 0.198976, 6.6 -> 0.200512.
  EXPECT_NEAR(AdaptiveKlCoefficient(0.2, 9.0, 6.0, 1e4, 256), 0.201024, 1e-15);
  EXPECT_NEAR(AdaptiveKlCoefficient(0.2, 3.0, 6.0, 1e4, 256), 0.198976, 1e-15);
  EXPECT_NEAR(AdaptiveKlCoefficient(0.2, 6.6, 6.0, 1e4, 256), 0.200512, 1e-15);
  // Chained over three steps: e = +0.2 (clipped), -0.2 (clipped), +0.1:
  //   0.2 x 1.00512 = 0.201024; x 0.99488 = 0.19999475712;
  //   x 1.00256 = 0.2005067436982272.
  double b = 0.2;
  b = AdaptiveKlCoefficient(b, 9.0, 6.0, 1e4, 256);
  b = AdaptiveKlCoefficient(b, 3.0, 6.0, 1e4, 256);
  EXPECT_NEAR(b, 0.19999475712, 1e-15);
  b = AdaptiveKlCoefficient(b, 6.6, 6.0, 1e4, 256);
  EXPECT_NEAR(b, 0.2005067436982272, 1e-15);
}

using Keys = std::map<std::string, std::string>;

RunConfig Make(const Keys& keys) { return RunConfig::FromConfig(Config::Resolve(keys)); }

// In a run: each step's coefficient is the previous one moved by the step's
// measured KL (the mean over rollouts of each one's token-mean k of the
// sampling policy to pi_0), n = the step's rollouts. Three steps by hand.
TEST(ZooLossesTest, AdaptiveKlControllerInARun) {
  for (const char* where : {"loss", "reward"}) {
    const RunConfig rc = Make({{"env.name", "chain"},       {"env.prompts", "32"},
                               {"train.batch_prompts", "4"}, {"train.group_size", "4"},
                               {"optim.lr", "20"},           {"kl.coef", "0.1"},
                               {"kl.where", where},          {"kl.target", "0.001"},
                               {"kl.horizon", "100"},        {"kl.estimator", "k3+"}});
    RunState st;
    InitRun(rc, &st);
    double want = 0.1;
    EXPECT_EQ(st.kl_coef, want);
    for (int step = 0; step < 3; ++step) {
      Step(rc, &st);
      const Batch& b = st.batch;
      double kl = 0.0;
      for (int r = 0; r < b.num_rollouts(); ++r) {
        double seq = 0.0;
        for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
          seq += KlPenalty(KlEstimator::kK3Plus,
                           b.logprob[t] - st.reference->LogProbs(b.state[t])[b.token[t]])
                     .value;
        }
        kl += seq / b.length(r);
      }
      kl /= b.num_rollouts();
      if (step == 0) {
        EXPECT_EQ(kl, 0.0);  // pi = pi_0 at the first step: e = -1 -> -0.2
      }
      double e = kl / 0.001 - 1.0;
      e = e < -0.2 ? -0.2 : (e > 0.2 ? 0.2 : e);
      want = want * (1.0 + e * b.num_rollouts() / 100.0);
      EXPECT_EQ(st.kl_coef, want) << where << " step " << step;
    }
    EXPECT_EQ(st.kl_coef == 0.1, false);
  }
  // Off by default: the coefficient stays kl.coef.
  const RunConfig fixed = Make({{"kl.coef", "0.1"}});
  RunState st;
  InitRun(fixed, &st);
  for (int i = 0; i < 3; ++i) Step(fixed, &st);
  EXPECT_EQ(st.kl_coef, 0.1);
  // A horizon the step could overshoot is refused.
  EXPECT_THROW(Make({{"kl.coef", "0.1"}, {"kl.target", "0.1"}, {"kl.horizon", "10"},
                     {"train.batch_prompts", "8"}, {"train.group_size", "8"}}),
               UserError);
}

// ---- the loop's gradient against finite differences ----------------------------

// The loss MinibatchGradient differentiates, at the current parameters, with
// the stop-gradient factors at `sg` (log pi where the gradient was taken) and
// the prepass's marks as the gradient left them.
double SurrogateLoss(const RunConfig& rc, RunState* st, const std::vector<double>& sg) {
  const Batch& b = st->batch;
  Policy& pi = *st->policy;
  int T = b.num_tokens();
  const double scale = rc.loss_scale > 0 ? rc.loss_scale : st->task->max_length();
  double loss = 0.0;
  for (int r = 0; r < b.num_rollouts(); ++r) {
    const int t0 = b.token_begin[r];
    std::vector<double> lp(b.length(r));
    for (int t = t0; t < b.token_begin[r + 1]; ++t) {
      lp[t - t0] = pi.LogProbs(b.state[t])[b.token[t]];
    }
    LossRollout view;
    view.len = b.length(r);
    view.weight = TokenWeight(rc.loss_agg, b.length(r), b.num_rollouts(), T, scale);
    view.advantage = b.advantage[r];
    view.token_advantage = b.token_advantage.empty() ? nullptr : &b.token_advantage[t0];
    view.logprob_old = &b.logprob[t0];
    view.logprob = lp.data();
    view.mark = rc.loss->batch_prepass ? &st->loss_mark[t0] : nullptr;
    loss += st->loss->SurrogateValue(view, &sg[t0]);
    if (rc.kl_coef > 0.0 && !rc.kl_in_reward) {
      // The straight-through variants as verl builds them: k2 - sg(k2) + sg(k).
      const bool plus = rc.kl_estimator == KlEstimator::kK1Plus ||
                        rc.kl_estimator == KlEstimator::kK3Plus;
      for (int t = t0; t < b.token_begin[r + 1]; ++t) {
        const double ref = st->reference->LogProbs(b.state[t])[b.token[t]];
        const double x = lp[t - t0] - ref, x_sg = sg[t] - ref;
        const double k = plus ? 0.5 * x * x - 0.5 * x_sg * x_sg +
                                    KlPenalty(rc.kl_estimator, x_sg).value
                              : KlPenalty(rc.kl_estimator, x).value;
        loss += view.weight * st->kl_coef * k;
      }
    }
  }
  return loss;
}

// Samples at theta_old, moves the parameters (ratios != 1), and compares the
// gradient of the whole batch with central differences. Returns the clipped
// tokens and the marked ones.
std::pair<int64_t, int64_t> ExpectGradientMatches(const Keys& keys, double tol) {
  SCOPED_TRACE(::testing::PrintToString(keys));
  const RunConfig rc = Make(keys);
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  PrepareBatch(rc, &st, &st.batch);
  Policy& pi = *st.policy;
  const int64_t n = pi.num_params();
  for (int64_t i = 0; i < n; ++i) pi.params()[i] += 0.3 * std::sin(1.3 * i + 0.7);
  pi.ParamsChanged();
  StepStats stats;
  MinibatchGradient(rc, &st, st.batch, 0, st.batch.num_groups(), &st.grad, &stats);
  std::vector<double> grad;
  st.grad.ToDense(1.0, &grad);
  std::vector<double> sg(st.batch.num_tokens());
  for (int t = 0; t < st.batch.num_tokens(); ++t) {
    sg[t] = pi.LogProbs(st.batch.state[t])[st.batch.token[t]];
  }
  int64_t marked = 0;
  if (rc.loss->batch_prepass) {
    for (int t = 0; t < st.batch.num_tokens(); ++t) marked += st.loss_mark[t];
  }
  const double h = 1e-6;
  double max_err = 0.0, max_grad = 0.0;
  const int64_t stride = n > 400 ? n / 400 : 1;
  for (int64_t i = 0; i < n; i += stride) {
    const double keep = pi.params()[i];
    pi.params()[i] = keep + h;
    pi.ParamsChanged();
    const double up = SurrogateLoss(rc, &st, sg);
    pi.params()[i] = keep - h;
    pi.ParamsChanged();
    const double down = SurrogateLoss(rc, &st, sg);
    pi.params()[i] = keep;
    pi.ParamsChanged();
    max_err = std::max(max_err, std::fabs((up - down) / (2 * h) - grad[i]));
    max_grad = std::max(max_grad, std::fabs(grad[i]));
  }
  EXPECT_GT(max_grad, 1e-4);
  EXPECT_LT(max_err, tol * max_grad);
  return {stats.clipped, marked};
}

TEST(ZooLossesTest, GradientMatchesFiniteDifferencesTabular) {
  const Keys base = {{"env.name", "chain"},        {"env.prompts", "24"},
                     {"train.batch_prompts", "6"}, {"train.group_size", "4"},
                     {"optim.lr", "4"}};
  for (const char* loss : {"gspo", "gmpo", "cispo", "sapo", "clip_cov", "kl_cov"}) {
    for (const char* agg : {"token-mean", "seq-mean-token-mean"}) {
      Keys k = base;
      k["train.loss"] = loss;
      k["train.loss_agg"] = agg;
      if (std::string(loss) == "gspo") {  // wide enough that some responses are unclipped
        k["train.gspo_clip_low"] = "0.3";
        k["train.gspo_clip_high"] = "0.3";
      }
      if (std::string(loss) == "clip_cov") {  // a window the toy covariances reach
        k["train.clip_cov_lb"] = "0.05";
        k["train.clip_cov_ratio"] = "0.1";
      }
      if (std::string(loss) == "kl_cov") k["train.kl_cov_ratio"] = "0.1";
      const auto counts = ExpectGradientMatches(k, 1e-6);
      if (std::string(loss) == "clip_cov" || std::string(loss) == "kl_cov") {
        EXPECT_GT(counts.second, 0) << loss;  // the prepass marked tokens
      }
    }
  }
  // Per-token advantages (gae's): gspo's GSPO-token gradient is the
  // surrogate's, not the plain value's.
  ExpectGradientMatches({{"env.name", "chain"},        {"env.prompts", "24"},
                         {"train.batch_prompts", "6"}, {"train.group_size", "4"},
                         {"estimator.name", "gae"},
                         {"train.loss", "gspo"},       {"train.gspo_clip_low", "0.3"},
                         {"train.gspo_clip_high", "0.3"}},
                        1e-6);
  // The KL variants in the loss.
  for (const char* kl : {"abs", "k1+", "k3+"}) {
    Keys k = base;
    k["train.loss"] = "cispo";
    k["kl.coef"] = "0.3";
    k["kl.estimator"] = kl;
    ExpectGradientMatches(k, 1e-6);
  }
}

TEST(ZooLossesTest, GradientMatchesFiniteDifferencesMlp) {
  for (const char* loss : {"gspo", "gmpo", "cispo", "sapo", "clip_cov", "kl_cov"}) {
    Keys k = {{"env.name", "chain"},        {"env.prompts", "24"},
              {"train.batch_prompts", "4"}, {"train.group_size", "4"},
              {"policy.kind", "mlp"},       {"policy.hidden", "8"},
              {"train.loss", loss},         {"train.loss_agg", "seq-mean-token-mean"}};
    if (std::string(loss) == "gspo") k["train.gspo_clip_high"] = "0.3";
    if (std::string(loss) == "kl_cov") k["train.kl_cov_ratio"] = "0.1";
    ExpectGradientMatches(k, 1e-5);
  }
}

// ---- bit-for-bit identities and determinism ------------------------------------

std::vector<double> Params(const Keys& keys, int steps) {
  const RunConfig rc = Make(keys);
  RunState st;
  InitRun(rc, &st);
  for (int i = 0; i < steps; ++i) Step(rc, &st);
  return std::vector<double>(st.policy->params(), st.policy->params() + st.policy->num_params());
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// One epoch, one minibatch: ratio 1, and every loss whose coefficient at r = 1
// is -A w trains exactly as pg (clip_cov stops a few tokens even on-policy).
TEST(ZooLossesTest, OnPolicyLossesArePgBitForBit) {
  const Keys keys = {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "8"},
                     {"optim.lr", "8"}};
  const std::vector<double> pg = Params(keys, 20);
  for (const char* loss : {"gspo", "gmpo", "cispo", "sapo", "kl_cov"}) {
    Keys k = keys;
    k["train.loss"] = loss;
    EXPECT_TRUE(SameBits(Params(k, 20), pg)) << loss;
  }
  Keys k = keys;
  k["train.loss"] = "ppo";
  k["train.clip_delta"] = "2";
  EXPECT_TRUE(SameBits(Params(k, 20), pg)) << "ppo delta";
}

// clip_cov / kl_cov's prepass spans the minibatch: micro-batches change no bit;
// and the same config twice gives the same bits.
TEST(ZooLossesTest, BatchLossesAreDeterministicAndMicroBatchInvariant) {
  for (const char* loss : {"clip_cov", "kl_cov"}) {
    const Keys keys = {{"env.name", "chain"},      {"env.prompts", "64"},
                       {"train.batch_prompts", "8"}, {"optim.lr", "8"},
                       {"train.loss", loss},       {"train.epochs", "2"},
                       {"train.minibatches", "2"}, {"train.clip_cov_lb", "0.05"},
                       {"train.clip_cov_ratio", "0.05"}};
    Keys k = keys;
    if (std::string(loss) == "kl_cov") {
      k.erase("train.clip_cov_lb");
      k.erase("train.clip_cov_ratio");
      k["train.kl_cov_ratio"] = "0.05";
    }
    const std::vector<double> a = Params(k, 15);
    EXPECT_TRUE(SameBits(a, Params(k, 15))) << loss;
    Keys micro = k;
    micro["train.micro_batch"] = "3";
    EXPECT_TRUE(SameBits(a, Params(micro, 15))) << loss;
  }
}

}  // namespace
}  // namespace advlab
