// Gradient diagnostics and verifier noise against analytic answers.
#include <gtest/gtest.h>

#include <cmath>

#include "sim/error.h"
#include "sim/loop.h"

namespace advlab {
namespace {

RunState Init(const RunConfig& rc) {
  RunState st;
  InitRun(rc, &st);
  return st;
}

RunConfig Tiny(const std::string& estimator, int samples) {
  return RunConfig::FromConfig(Config::Resolve({{"env.prompts", "16"},
                                                {"env.answers", "4"},
                                                {"train.batch_prompts", "8"},
                                                {"train.group_size", "8"},
                                                {"estimator.name", estimator},
                                                {"diagnostics.exact_gradient", "true"},
                                                {"diagnostics.samples", std::to_string(samples)}}));
}

// mean_j |g_j - g*|^2 = |mean g - g*|^2 + (S-1)/S * sample variance, so
// rel_err - (S-1)/S var is the squared relative bias of the mean estimate:
// ~ var/S for unbiased estimators (reinforce, rloo), and (1/G)^2 + var/S for
// dr_grpo, whose expectation is (G-1)/G grad J (estimators.md §11.1).
TEST(DiagnosticsTest, BiasOfTheMeanEstimateMatchesTheory) {
  const int S = 4000;
  for (const std::string est : {"reinforce", "rloo", "dr_grpo", "oracle"}) {
    RunConfig rc = Tiny(est, S);
    RunState st = Init(rc);
    DiagnosedStep(rc, &st);
    ASSERT_TRUE(st.diag_valid);
    const double bias2 = st.diag_rel_err - (S - 1.0) / S * st.diag_var;
    const double noise = st.diag_var / S;  // expected contribution of sampling
    SCOPED_TRACE(est + ": rel_err=" + std::to_string(st.diag_rel_err) +
                 " var=" + std::to_string(st.diag_var) + " bias2=" + std::to_string(bias2));
    if (est == "dr_grpo") {
      EXPECT_NEAR(bias2, 1.0 / 64 + noise, 6 * noise);
    } else {
      EXPECT_LT(bias2, 6 * noise);
    }
    EXPECT_GT(st.diag_cosine, 0.0);  // an ascent step on average
    EXPECT_LE(st.diag_cosine, 1.0);
  }
}

// Direction-only bias: dr_grpo's expectation is (G-1)/G grad J and, with one
// prompt, grpo's is c(p, G) grad J: both are pure rescalings, so grad_rel_err
// shows a bias but the error after the best scalar fit is sampling noise only,
// and the mean estimate points along grad J.
TEST(DiagnosticsTest, RescalingIsNotDirectionBias) {
  const int S = 4000;
  for (const std::string est : {"dr_grpo", "grpo"}) {
    RunConfig rc = Tiny(est, S);
    RunState st = Init(rc);
    DiagnosedStep(rc, &st);
    ASSERT_TRUE(st.diag_valid);
    const double bias2 = st.diag_rel_err - (S - 1.0) / S * st.diag_var;
    const double noise = st.diag_var / S;
    SCOPED_TRACE(est + ": bias2=" + std::to_string(bias2) + " fit=" +
                 std::to_string(st.diag_fit_err) + " noise=" + std::to_string(noise));
    EXPECT_GT(bias2, 10 * noise);               // biased in scale...
    EXPECT_LT(st.diag_fit_err, 3 * noise);      // ...not in direction
    EXPECT_GT(st.diag_mean_cosine, 0.99);
    EXPECT_NEAR(st.diag_fit_err, 1.0 - st.diag_mean_cosine * st.diag_mean_cosine, 1e-9);
  }
}

// ReMax's baseline, the reward of the prompt's greedy response, depends on the
// policy and the prompt, never on the sampled responses: unbiased, as reinforce
// and rloo above. The loop's sampler decodes the greedy responses (remax's SampleExtra).
TEST(DiagnosticsTest, RemaxIsUnbiased) {
  const int S = 4000;
  RunConfig rc = Tiny("remax", S);
  RunState st = Init(rc);
  DiagnosedStep(rc, &st);
  ASSERT_TRUE(st.diag_valid);
  const double bias2 = st.diag_rel_err - (S - 1.0) / S * st.diag_var;
  const double noise = st.diag_var / S;
  EXPECT_LT(bias2, 6 * noise) << "rel_err " << st.diag_rel_err << " var " << st.diag_var;
  EXPECT_GT(st.diag_cosine, 0.0);
}

// grpo's std division reweights a prompt by c(p, G) (estimators.md §11.2): for
// binary rewards E[g_grpo] = c(p, G) grad p, with
//   c = sum_k Bin(k; G, p) f(k) k (G - k) / (G^2 p (1 - p)),
//   f(k) = 1 / (s_k + 1e-6),  s_k = sqrt(k (G - k) / (G (G - 1))).
// With one prompt the mean estimate is parallel to the exact gradient, so its
// squared relative bias is (c - 1)^2 (1.424637 at p = 0.25, G = 4 in §11.2).
TEST(DiagnosticsTest, GrpoReweightsByTheDifficultyFactor) {
  const int G = 4, S = 40000;
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "1"},
                                                        {"env.answers", "4"},
                                                        {"env.easy_logit", "0"},
                                                        {"env.hard_logit", "0"},
                                                        {"train.batch_prompts", "8"},
                                                        {"train.group_size", std::to_string(G)},
                                                        {"estimator.name", "grpo"},
                                                        {"diagnostics.exact_gradient", "true"},
                                                        {"diagnostics.samples", std::to_string(S)}}));
  RunState st = Init(rc);
  st.task->Advance(0);
  const double p = st.task->SuccessProbability(st.policy.get(), 0);
  ASSERT_NEAR(p, 0.25, 1e-12);  // uniform over 4 answers
  double c = 0;
  for (int k = 1; k < G; ++k) {
    const double binom = std::tgamma(G + 1.0) / (std::tgamma(k + 1.0) * std::tgamma(G - k + 1.0));
    const double pk = binom * std::pow(p, k) * std::pow(1 - p, G - k);
    const double sk = std::sqrt(k * (G - k) / (G * (G - 1.0)));
    c += pk / (sk + 1e-6) * k * (G - k) / (G * G * p * (1 - p));
  }
  EXPECT_NEAR(c, 1.424637, 5e-7);  // the §11.2 table
  DiagnosedStep(rc, &st);
  // |mean - g*|^2 = (c-1)^2 |g*|^2 + 2 (c-1) <g*, noise> + |noise|^2: the cross
  // term has sd ~ 2 |c-1| sqrt(var/S), the last term mean var/S. 6 sd.
  const double bias2 = st.diag_rel_err - (S - 1.0) / S * st.diag_var;
  const double noise = st.diag_var / S;
  const double sd = 2 * std::fabs(c - 1) * std::sqrt(noise) + noise;
  EXPECT_NEAR(bias2, (c - 1) * (c - 1) + noise, 6 * sd)
      << "rel_err " << st.diag_rel_err << " var " << st.diag_var;
  // Without the reweighting (c = 1) or with the population std, it would fail.
  EXPECT_GT(std::fabs(bias2), 6 * sd);
}

// The oracle baseline b(q) = E[R | q] is the value function every group baseline
// estimates: its gradient estimate is unbiased and has less variance than
// rloo's, whose leave-one-out baseline b_hat is independent of the sample, so
// E[(R - b_hat)^2 |s|^2] = E[(R - p)^2 |s|^2] + E[(p - b_hat)^2] E[|s|^2].
// (No such ordering holds against reinforce: the variance-optimal constant is
// E[R |s|^2] / E[|s|^2], which can lie closer to 0 than to p.)
TEST(DiagnosticsTest, OracleBaselineHasTheLowestVariance) {
  const int S = 2000;
  auto var = [&](const std::string& est) {
    RunConfig rc = Tiny(est, S);
    RunState st = Init(rc);
    DiagnosedStep(rc, &st);
    return st.diag_var;
  };
  EXPECT_LT(var("oracle"), var("rloo"));
}

// The oracle's advantages are exactly R - (fp + (1 - fp - fn) p(q)).
TEST(DiagnosticsTest, OracleAdvantageIsRewardMinusExactExpectedReward) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "8"},
                                                        {"estimator.name", "oracle"},
                                                        {"env.false_positive", "0.1"},
                                                        {"env.false_negative", "0.2"}}));
  RunState st = Init(rc);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  st.estimator->Compute(&st.batch);
  for (int g = 0; g < st.batch.num_groups(); ++g) {
    const double p = st.task->SuccessProbability(st.policy.get(), st.batch.prompt[g]);
    for (int r = st.batch.group_begin[g]; r < st.batch.group_begin[g + 1]; ++r) {
      EXPECT_EQ(st.batch.advantage[r], st.batch.reward[r] - (0.1 + (1 - 0.1 - 0.2) * p));
    }
  }
}

// SGD's update is -lr * (loss gradient): its cosine with grad J is the cosine
// of the training batch's own estimate, in (-1, 1]; Adam's first step is
// sign-like. Both finite, and the run stays deterministic.
TEST(DiagnosticsTest, CosineIsDefinedForSgdAndAdam) {
  for (const char* opt : {"sgd", "adam"}) {
    auto keys = std::map<std::string, std::string>{{"env.prompts", "16"},
                                                   {"optim.name", opt},
                                                   {"optim.lr", "0.5"},
                                                   {"diagnostics.exact_gradient", "true"}};
    RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
    RunState a = Init(rc), b = Init(rc);
    DiagnosedStep(rc, &a);
    DiagnosedStep(rc, &b);
    EXPECT_TRUE(std::isfinite(a.diag_cosine)) << opt;
    EXPECT_GE(a.diag_cosine, -1.0);
    EXPECT_LE(a.diag_cosine, 1.0);
    EXPECT_EQ(a.diag_cosine, b.diag_cosine);
    EXPECT_EQ(a.diag_rel_err, b.diag_rel_err);
  }
}

// Observed rewards: E[r] = fp + (1 - fp - fn) p, and batch.correct keeps the truth.
TEST(DiagnosticsTest, VerifierNoiseHasTheConfiguredRates) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "4"},
                                                        {"env.answers", "3"},
                                                        {"env.easy_logit", "1"},
                                                        {"env.hard_logit", "0"},
                                                        {"train.batch_prompts", "64"},
                                                        {"train.group_size", "256"},
                                                        {"env.false_positive", "0.1"},
                                                        {"env.false_negative", "0.25"}}));
  RunState st = Init(rc);
  st.task->Advance(0);
  Batch batch;
  SampleBatch(rc, &st, st.rng, 0, &batch);
  double obs = 0, expect = 0, flipped_pos = 0, wrong = 0, flipped_neg = 0, right = 0;
  for (int g = 0; g < batch.num_groups(); ++g) {
    const double p = st.task->SuccessProbability(st.policy.get(), batch.prompt[g]);
    for (int r = batch.group_begin[g]; r < batch.group_begin[g + 1]; ++r) {
      obs += batch.reward[r];
      expect += 0.1 + (1 - 0.1 - 0.25) * p;
      if (batch.correct[r]) {
        right += 1;
        flipped_neg += batch.reward[r] == 0.0;
      } else {
        wrong += 1;
        flipped_pos += batch.reward[r] == 1.0;
      }
    }
  }
  const double n = batch.num_rollouts();
  EXPECT_NEAR(obs / n, expect / n, 4.4 * std::sqrt(0.25 / n));
  EXPECT_NEAR(flipped_pos / wrong, 0.1, 4.4 * std::sqrt(0.09 / wrong));
  EXPECT_NEAR(flipped_neg / right, 0.25, 4.4 * std::sqrt(0.1875 / right));
}

// The exact objective gradient scales by (1 - fp - fn) under noise.
TEST(DiagnosticsTest, ExactGradientScalesWithVerifierNoise) {
  auto make = [](const char* fp, const char* fn) {
    return RunConfig::FromConfig(Config::Resolve(
        {{"env.prompts", "8"}, {"env.false_positive", fp}, {"env.false_negative", fn}}));
  };
  RunConfig clean = make("0", "0"), noisy = make("0.2", "0.3");
  RunState a = Init(clean), b = Init(noisy);
  a.task->Advance(0);
  b.task->Advance(0);
  std::vector<double> ga, gb;
  ExactObjectiveGradient(clean, &a, &ga);
  ExactObjectiveGradient(noisy, &b, &gb);
  ASSERT_EQ(ga.size(), gb.size());
  double norm = 0;
  for (size_t i = 0; i < ga.size(); ++i) {
    EXPECT_NEAR(gb[i], 0.5 * ga[i], 1e-15);
    norm += ga[i] * ga[i];
  }
  EXPECT_GT(norm, 0.0);
}

// The instrument does not perturb what it measures: with diagnostics on, every
// training metric is bit-identical to the run without them, also for a stateful
// estimator (its diagnostic batches run on a copy).
TEST(DiagnosticsTest, DiagnosticsDoNotChangeTraining) {
  for (const char* est : {"grpo", "ema_baseline"}) {
    std::map<std::string, std::string> keys = {{"env.prompts", "32"}, {"estimator.name", est},
                                               {"train.steps", "120"}, {"train.eval_every", "40"},
                                               {"optim.lr", "8"}};
    RunConfig off = RunConfig::FromConfig(Config::Resolve(keys));
    keys["diagnostics.exact_gradient"] = "true";
    RunConfig on = RunConfig::FromConfig(Config::Resolve(keys));
    RunRecord a = TrainRun(off), b = TrainRun(on);
    const auto& names = MetricNames();
    const size_t E = off.EvalSteps().size();
    for (size_t i = 0; i < names.size(); ++i) {
      if (Metrics()[i].kind == MetricKind::kDiagnostic) continue;  // NaN when off
      for (size_t e = 0; e < E; ++e) {
        const double x = a.values[i * E + e], y = b.values[i * E + e];
        EXPECT_TRUE(x == y || (std::isnan(x) && std::isnan(y))) << est << " " << names[i] << " eval " << e;
      }
    }
  }
}

TEST(DiagnosticsTest, UninformativeVerifierIsRefused) {
  EXPECT_THROW(RunConfig::FromConfig(Config::Resolve(
                   {{"env.false_positive", "0.6"}, {"env.false_negative", "0.4"}})),
               UserError);
  EXPECT_THROW(Config::Resolve({{"env.false_positive", "1"}}), UserError);
  EXPECT_THROW(Config::Resolve({{"env.false_negative", "-0.1"}}), UserError);
}

}  // namespace
}  // namespace advlab
