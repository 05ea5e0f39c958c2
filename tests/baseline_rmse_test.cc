// baseline_rmse (sim/loop.cc MeasureBaselineError): the estimator's baseline
// against the exact expected reward of each rollout's prompt, on the last step
// of each eval window, under the policy the rollouts were sampled with.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/config.h"
#include "sim/loop.h"
#include "sim/metrics.h"
#include "sim/run_config.h"
#include "sim/run_state.h"
#include "sim/task.h"

namespace advlab {
namespace {

std::map<std::string, std::string> Keys(const std::string& estimator) {
  return {{"env.name", "choice"},        {"env.prompts", "24"},          {"estimator.name", estimator},
          {"train.steps", "20"},         {"train.eval_every", "5"},      {"train.batch_prompts", "6"},
          {"train.group_size", "4"},     {"optim.lr", "2"},              {"seed", "3"}};
}

std::vector<double> BaselineRmse(const std::map<std::string, std::string>& keys) {
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  const RunRecord rec = TrainRun(rc);
  const size_t evals = rc.EvalSteps().size();
  const size_t row = static_cast<size_t>(MetricIndex("baseline_rmse"));
  return std::vector<double>(rec.values.begin() + row * evals, rec.values.begin() + (row + 1) * evals);
}

TEST(BaselineRmseTest, TheOracleBaselineHasNoErrorEvenWithVerifierNoise) {
  // The oracle subtracts E[R | q] under the sampling policy: exactly the target,
  // so any other timing (after the update) or noise model would show here.
  std::map<std::string, std::string> keys = Keys("oracle");
  keys["env.false_positive"] = "0.1";
  keys["env.false_negative"] = "0.2";
  const std::vector<double> v = BaselineRmse(keys);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(std::isnan(v[0]));  // the eval at step 0 follows no step
  for (size_t e = 1; e < v.size(); ++e) EXPECT_EQ(v[e], 0.0) << e;
}

TEST(BaselineRmseTest, NoBaselineIsNaN) {
  for (const double x : BaselineRmse(Keys("reinforce"))) EXPECT_TRUE(std::isnan(x));
}

TEST(BaselineRmseTest, GroupMeanAgainstTheExactSuccessProbability) {
  // By hand on the first step: sqrt(mean over rollouts (group mean - p(q))^2),
  // p under the initial policy (the step samples with it, then updates it).
  std::map<std::string, std::string> keys = Keys("grpo");
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  RunState st;
  InitRun(rc, &st);
  std::vector<double> p0(static_cast<size_t>(st.task->num_prompts()));
  for (int32_t q = 0; q < st.task->num_prompts(); ++q)
    p0[q] = st.task->SuccessProbability(st.policy.get(), q);
  st.next_eval = 1;
  Step(rc, &st);
  const Batch& b = st.batch;
  double ss = 0.0;
  for (int g = 0; g < b.num_groups(); ++g) {
    double mean = 0.0;
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) mean += b.reward[r];
    mean /= b.group_size(g);
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r)
      ss += (mean - p0[b.prompt[g]]) * (mean - p0[b.prompt[g]]);
  }
  const double want = std::sqrt(ss / b.num_rollouts());
  EXPECT_NEAR(st.baseline_rmse, want, 1e-15);
  EXPECT_GT(want, 0.0);
}

TEST(BaselineRmseTest, MatchUpdateMeasuresTheRunsEstimatorNotTheControl) {
  // oracle at grpo's step size: the baseline is still the oracle's (0 error);
  // grpo at the oracle's step size: grpo's group mean (not 0).
  std::map<std::string, std::string> a = Keys("oracle");
  a["train.match_update"] = "grpo";
  for (size_t e = 1; e < 5; ++e) EXPECT_EQ(BaselineRmse(a)[e], 0.0);
  std::map<std::string, std::string> b = Keys("grpo");
  b["train.match_update"] = "oracle";
  const std::vector<double> v = BaselineRmse(b);
  for (size_t e = 1; e < v.size(); ++e) EXPECT_GT(v[e], 0.0) << e;
}

TEST(BaselineRmseTest, AMoreSampledMeanIsCloserToTheTruth) {
  // E (mean of G Bernoulli(p) - p)^2 = p (1 - p) / G: quadrupling G halves the
  // RMS error in expectation; over 5 windows and 6 prompts the ordering holds.
  std::map<std::string, std::string> small = Keys("dr_grpo"), large = Keys("dr_grpo");
  small["train.group_size"] = "2";
  large["train.group_size"] = "32";
  small["optim.lr"] = large["optim.lr"] = "0.01";  // nearly frozen policy: same p
  double s = 0.0, l = 0.0;
  const std::vector<double> vs = BaselineRmse(small), vl = BaselineRmse(large);
  for (size_t e = 1; e < vs.size(); ++e) {
    s += vs[e] * vs[e];
    l += vl[e] * vl[e];
  }
  EXPECT_GT(s, 4.0 * l);
}

// grad_var_ratio (sim/diagnostics.cc): the run's diagnostic variance over the
// `optimal` baseline's on the same diagnostic batches.
std::vector<double> Diagnosed(const std::string& estimator, const std::string& metric) {
  std::map<std::string, std::string> keys = Keys(estimator);
  keys["train.steps"] = "1";
  keys["train.eval_every"] = "1";
  keys["diagnostics.exact_gradient"] = "true";
  keys["diagnostics.samples"] = "6";
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  const RunRecord rec = TrainRun(rc);
  const size_t evals = rc.EvalSteps().size(), row = static_cast<size_t>(MetricIndex(metric));
  return std::vector<double>(rec.values.begin() + row * evals, rec.values.begin() + (row + 1) * evals);
}

TEST(GradVarRatioTest, IsTheRatioOfTwoRunsDiagnosticVariances) {
  // At step 0 every run has the same parameters and diagnostic batches, so the
  // optimal run's grad_var is the denominator of any other run's ratio.
  const double opt = Diagnosed("optimal", "grad_var")[1];
  EXPECT_EQ(Diagnosed("optimal", "grad_var_ratio")[1], 1.0);
  for (const char* e : {"grpo", "rloo", "oracle", "reinforce"}) {
    const double var = Diagnosed(e, "grad_var")[1];
    EXPECT_NEAR(Diagnosed(e, "grad_var_ratio")[1], var / opt, 1e-12 * var / opt) << e;
  }
  // GRPO's std division inflates the variance well above the optimum here.
  EXPECT_GT(Diagnosed("grpo", "grad_var_ratio")[1], 1.5);
}

TEST(GradVarRatioTest, NaNWithoutDiagnostics) {
  std::map<std::string, std::string> keys = Keys("grpo");
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  const RunRecord rec = TrainRun(rc);
  const size_t evals = rc.EvalSteps().size();
  const size_t row = static_cast<size_t>(MetricIndex("grad_var_ratio"));
  for (size_t e = 0; e < evals; ++e) EXPECT_TRUE(std::isnan(rec.values[row * evals + e]));
}

}  // namespace
}  // namespace advlab
