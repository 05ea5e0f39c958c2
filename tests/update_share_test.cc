// The per-difficulty-bin shares of the update (update_share_bin0..3) and of
// the exact gradient (exact_share_bin0..3) against hand-computed values and
// GRPO's difficulty reweighting c(p, G) (estimators.md §11.2).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sim/diagnostics.h"
#include "sim/gradient.h"
#include "sim/loop.h"
#include "sim/sample_batch.h"

namespace advlab {
namespace {

constexpr int kBins = kDifficultyBins;

// `choice` with 4 prompts, one per difficulty bin (d = 1/8, 3/8, 5/8, 7/8), 4
// answers and the prior log-odds l(d) = easy (1 - d) + hard d, tabular policy.
RunConfig FourPrompts(const std::string& estimator, int G, int S, const std::string& policy = "tabular",
                      int seed = 1) {
  return RunConfig::FromConfig(Config::Resolve({{"seed", std::to_string(seed)},{"env.prompts", "4"},
                                                {"env.answers", "4"},
                                                {"env.easy_logit", "4.5"},
                                                {"env.hard_logit", "-2.5"},
                                                {"policy.kind", policy},
                                                {"policy.hidden", "8"},
                                                {"train.batch_prompts", "8"},
                                                {"train.group_size", std::to_string(G)},
                                                {"estimator.name", estimator},
                                                {"diagnostics.exact_gradient", "true"},
                                                {"diagnostics.samples", std::to_string(S)}}));
}

// Initial success probability of prompt k: e^l / (e^l + K - 1).
double P(int k) {
  const double d = (k + 0.5) / 4, l = 4.5 * (1 - d) - 2.5 * d;
  return std::exp(l) / (std::exp(l) + 3);
}

// By hand: the tabular gradient of p = pi(c | s) in row s is p (e_c - pi), with
// each wrong answer at (1 - p) / (K - 1), so |grad p|^2 = p^2 (1 - p)^2 K / (K - 1);
// the rows are disjoint, so share_k = |grad_k J|^2 / |grad J|^2 ∝ p_k^2 (1 - p_k)^2.
void HandExactShares(double* share) {
  double sum = 0;
  for (int k = 0; k < kBins; ++k) sum += std::pow(P(k) * (1 - P(k)), 2);
  for (int k = 0; k < kBins; ++k) share[k] = std::pow(P(k) * (1 - P(k)), 2) / sum;
}

// c(p, G) = sum_k Bin(k; G, p) f(k) k (G - k) / (G^2 p (1 - p)), f = 1 / (s_k + 1e-6).
double C(double p, int G) {
  double c = 0;
  for (int k = 1; k < G; ++k) {
    const double binom = std::tgamma(G + 1.0) / (std::tgamma(k + 1.0) * std::tgamma(G - k + 1.0));
    const double pk = binom * std::pow(p, k) * std::pow(1 - p, G - k);
    const double sk = std::sqrt(k * (G - k) / (G * (G - 1.0)));
    c += pk / (sk + 1e-6) * k * (G - k) / (G * G * p * (1 - p));
  }
  return c;
}

RunState Diagnosed(const RunConfig& rc) {
  RunState st;
  InitRun(rc, &st);
  DiagnosedStep(rc, &st);
  EXPECT_TRUE(st.diag_valid);
  return st;
}

TEST(UpdateShareTest, ExactSharesMatchTheHandComputation) {
  RunState st = Diagnosed(FourPrompts("rloo", 4, 2));
  double hand[kBins];
  HandExactShares(hand);
  double sum = 0;
  for (int k = 0; k < kBins; ++k) {
    EXPECT_NEAR(st.diag_exact_share[k], hand[k], 1e-12) << k;
    sum += st.diag_exact_share[k];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(hand[1], 0.494, 1e-3);  // not a degenerate case: every bin weighs
  EXPECT_NEAR(hand[3], 0.036, 1e-3);
}

// RLOO is unbiased (E g_hat = grad J, estimators.md §11.1): its update shares
// match the exact ones up to sampling noise. GRPO's std division scales the
// expected part of a prompt by c(p, G): in a tabular policy the bins' parts are
// disjoint, so share_k = c_k^2 e_k / sum_j c_j^2 e_j, which moves weight to the
// easiest and hardest bins (p = 0.93, 0.06: c = 2.95, 3.06) from the middle ones
// (p = 0.69, 0.27: c = 2.00, 2.07): exact shares 0.050 0.494 0.420 0.036,
// predicted 0.095 0.435 0.397 0.073. (Over seeds 1-10 the shares' sd was
// about 0.005 in the middle bins and 0.001 in the outer ones.)
TEST(UpdateShareTest, GrpoReweightsTheBinsByDifficultyRlooDoesNot) {
  const int G = 16, S = 20000;
  double exact[kBins], predicted[kBins], c[kBins], norm = 0;
  HandExactShares(exact);
  for (int k = 0; k < kBins; ++k) {
    c[k] = C(P(k), G);
    norm += c[k] * c[k] * exact[k];
  }
  for (int k = 0; k < kBins; ++k) predicted[k] = c[k] * c[k] * exact[k] / norm;
  const double tol[kBins] = {0.005, 0.02, 0.02, 0.005};  // Monte-Carlo: about 4 sd
  for (const std::string est : {"rloo", "grpo"}) {
    RunState st = Diagnosed(FourPrompts(est, G, S));
    double sum = 0;
    for (int k = 0; k < kBins; ++k) {
      const double want = est == "grpo" ? predicted[k] : exact[k];
      SCOPED_TRACE(est + " bin " + std::to_string(k) + ": share " +
                   std::to_string(st.diag_update_share[k]) + " exact " + std::to_string(exact[k]) +
                   " c " + std::to_string(c[k]));
      EXPECT_NEAR(st.diag_exact_share[k], exact[k], 1e-12);
      EXPECT_NEAR(st.diag_update_share[k], want, tol[k]);
      sum += st.diag_update_share[k];
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    if (est == "grpo") {  // the direction c(p, G) predicts, well outside the noise
      EXPECT_GT(st.diag_update_share[0] - exact[0], 5 * tol[0]);
      EXPECT_GT(st.diag_update_share[3] - exact[3], 5 * tol[3]);
      EXPECT_LT(st.diag_update_share[1] - exact[1], -2 * tol[1]);
    }
  }
}

// With an MLP the bins share parameters: the shares are projections, still
// summing to 1, and the exact ones add up the same way; any bin may be
// negative or above 1.
TEST(UpdateShareTest, SharesSumToOneWithSharedParameters) {
  for (const std::string est : {"grpo", "rloo+dapo"}) {
    RunState st = Diagnosed(FourPrompts(est, 4, 5, "mlp"));
    double u = 0, e = 0;
    for (int k = 0; k < kBins; ++k) {
      EXPECT_TRUE(std::isfinite(st.diag_update_share[k])) << est << k;
      u += st.diag_update_share[k];
      e += st.diag_exact_share[k];
    }
    EXPECT_NEAR(u, 1.0, 1e-12) << est;
    EXPECT_NEAR(e, 1.0, 1e-12) << est;
  }
}

// A bin no diagnostic batch drew contributes nothing: share 0, not NaN. With
// one prompt (difficulty 1/2: bin 2) every share is 0 but that bin's, which is 1.
TEST(UpdateShareTest, UndrawnBinsHaveShareZero) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "1"},
                                                        {"env.answers", "4"},
                                                        {"estimator.name", "rloo"},
                                                        {"diagnostics.exact_gradient", "true"},
                                                        {"diagnostics.samples", "3"}}));
  RunState st = Diagnosed(rc);
  for (int k = 0; k < kBins; ++k) {
    EXPECT_EQ(st.diag_update_share[k], k == 2 ? 1.0 : 0.0) << k;
    EXPECT_EQ(st.diag_exact_share[k], k == 2 ? 1.0 : 0.0) << k;
  }
}

// Off: NaN at every eval, like the other diagnostics; on: defined at every eval.
TEST(UpdateShareTest, NanWhenDiagnosticsAreOff) {
  for (const char* on : {"false", "true"}) {
    RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "8"},
                                                          {"train.steps", "4"},
                                                          {"train.eval_every", "2"},
                                                          {"diagnostics.exact_gradient", on}}));
    const RunRecord rec = TrainRun(rc);
    const size_t E = rc.EvalSteps().size();
    for (const char* name : {"update_share_bin0", "exact_share_bin3"}) {
      const int i = MetricIndex(name);
      ASSERT_GE(i, 0);
      for (size_t e = 1; e < E; ++e) {
        EXPECT_EQ(std::isnan(rec.values[i * E + e]), std::string(on) == "false") << name << e;
      }
    }
  }
}

std::vector<double> Dense(const SparseGrad& g) {
  std::vector<double> out;
  g.ToDense(1.0, &out);
  return out;
}

// The bins' parts of the update add up to the whole gradient of the batch
// (every coefficient is the whole batch's, then masked): with a ppo clip
// active, KL in the loss, the entropy bonus (whose terms are per token, not per
// coefficient), micro-batches, a dapo filter and shared MLP parameters.
TEST(UpdateShareTest, BinPartsAddUpToTheWholeGradient) {
  for (const char* policy : {"tabular", "mlp"}) {
    RunConfig rc = RunConfig::FromConfig(Config::Resolve(
        {{"env.name", "chain"}, {"env.prompts", "48"}, {"env.chain_max_depth", "4"},
         {"env.modulus", "5"}, {"env.max_length", "8"}, {"policy.kind", policy},
         {"policy.hidden", "8"}, {"train.batch_prompts", "16"}, {"train.group_size", "4"},
         {"estimator.name", "grpo+dapo"}, {"train.loss", "ppo"}, {"train.entropy_coef", "0.01"},
         {"kl.coef", "0.05"}, {"kl.where", "loss"}, {"train.micro_batch", "3"},
         {"train.loss_agg", "seq-mean-token-mean"}}));
    RunState st;
    InitRun(rc, &st);
    st.task->Advance(0);
    SampleBatch(rc, &st, st.rng, 0, &st.batch);
    PrepareBatch(rc, &st, &st.batch);
    Policy& pi = *st.policy;
    const int64_t n = pi.num_params();
    for (int64_t i = 0; i < n; ++i) pi.params()[i] += 0.4 * std::sin(1.7 * i + 0.3);  // ratios != 1
    pi.ParamsChanged();
    StepStats stats;
    MinibatchGradient(rc, &st, st.batch, 0, st.batch.num_groups(), &st.grad, &stats);
    ASSERT_GT(stats.clipped, 0);
    const std::vector<double> whole = Dense(st.grad);
    std::vector<double> sum(n, 0.0);
    std::vector<uint8_t> include(st.batch.num_rollouts());
    int bins_drawn = 0;
    for (int k = 0; k < kBins; ++k) {
      bool any = false;
      for (int g = 0; g < st.batch.num_groups(); ++g) {
        const bool in = DifficultyBin(st.task->difficulty(st.batch.prompt[g])) == k;
        any = any || in;
        for (int r = st.batch.group_begin[g]; r < st.batch.group_begin[g + 1]; ++r) include[r] = in;
      }
      bins_drawn += any;
      MaskedBatchGradient(rc, &st, st.batch, include.data(), &st.grad);
      const std::vector<double> part = Dense(st.grad);
      for (int64_t i = 0; i < n; ++i) sum[i] += part[i];
    }
    EXPECT_GE(bins_drawn, 3) << policy;
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; ++i) {
      scale = std::max(scale, std::fabs(whole[i]));
      err = std::max(err, std::fabs(sum[i] - whole[i]));
    }
    EXPECT_GT(scale, 0.0) << policy;
    EXPECT_LT(err, 1e-12 * scale) << policy;
  }
}

}  // namespace
}  // namespace advlab
