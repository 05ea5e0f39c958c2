// Step-size controls: the update_norm metric and train.match_update (rescale
// each update to the norm the baseline estimator's update has on the same
// rollouts), checked against gradients computed here by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "experiments/sweep.h"
#include "sim/error.h"
#include "sim/loop.h"

namespace advlab {
namespace {

using Keys = std::map<std::string, std::string>;

// `choice`, tabular, sgd, pg, token-mean: one token per rollout, so the loss
// gradient of the logits row s is sum_r -A_r / T (e_{a_r} - pi(s)) by hand.
Keys ChoiceKeys() {
  return {{"env.prompts", "32"},       {"train.batch_prompts", "8"}, {"train.group_size", "4"},
          {"optim.lr", "3"},           {"estimator.name", "grpo+adora"},
          {"estimator.adora_tau", "0.9"}, {"train.match_update", "grpo"}};
}

// GRPO's advantages of a batch by hand: (R - mean) / (std + 1e-6), the unbiased
// std of the group; 0 for an all-equal group.
std::vector<double> GrpoAdvantages(const Batch& b) {
  std::vector<double> adv(b.num_rollouts(), 0.0);
  for (int g = 0; g < b.num_groups(); ++g) {
    const int r0 = b.group_begin[g], r1 = b.group_begin[g + 1], n = r1 - r0;
    double mean = 0.0;
    for (int r = r0; r < r1; ++r) mean += b.reward[r];
    mean /= n;
    double var = 0.0;
    for (int r = r0; r < r1; ++r) var += (b.reward[r] - mean) * (b.reward[r] - mean);
    const double sd = std::sqrt(var / (n - 1));
    for (int r = r0; r < r1; ++r) adv[r] = (b.reward[r] - mean) / (sd + 1e-6);
  }
  return adv;
}

// The token-mean pg gradient of the logits at `logits` (dense) by hand.
std::vector<double> HandGradient(const Batch& b, const std::vector<double>& adv,
                                 const std::vector<double>& logits, int K) {
  std::vector<double> g(logits.size(), 0.0);
  const double T = b.num_tokens();
  for (int r = 0; r < b.num_rollouts(); ++r) {
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      const int s = b.state[t];
      const double* z = logits.data() + static_cast<size_t>(s) * K;
      double zmax = z[0], sum = 0.0;
      for (int a = 1; a < K; ++a) zmax = std::max(zmax, z[a]);
      for (int a = 0; a < K; ++a) sum += std::exp(z[a] - zmax);
      for (int a = 0; a < K; ++a) {
        const double p = std::exp(z[a] - zmax) / sum;
        g[static_cast<size_t>(s) * K + a] += -adv[r] / T * ((a == b.token[t] ? 1.0 : 0.0) - p);
      }
    }
  }
  return g;
}

double Norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// Every applied update of grpo+adora has the norm of grpo's update on the same
// batch (lr |g_grpo|, clipped when optim.max_grad_norm asks) and grpo+adora's
// direction; update_norm reports it.
void CheckMatched(const Keys& keys, double max_norm, int* rescaled) {
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  RunState st;
  InitRun(rc, &st);
  const int64_t n = st.policy->num_params();
  const int K = st.policy->num_actions();
  const double lr = rc.config.Float("optim.lr");
  std::vector<double> m(MetricNames().size());
  Evaluate(rc, &st, m.data());
  for (int step = 0; step < 30; ++step) {
    const std::vector<double> before(st.policy->params(), st.policy->params() + n);
    Step(rc, &st);
    std::vector<double> update(n);
    for (int64_t i = 0; i < n; ++i) update[i] = st.policy->params()[i] - before[i];
    const Batch& b = st.batch;  // the step's batch; its advantages are grpo+adora's
    const std::vector<double> own(b.advantage.begin(), b.advantage.end());
    const std::vector<double> g_own = HandGradient(b, own, before, K);
    const std::vector<double> g_base = HandGradient(b, GrpoAdvantages(b), before, K);
    const double base = Norm(g_base);
    const double target = lr * (max_norm > 0.0 ? std::min(base, max_norm) : base);
    const double got = Norm(update);
    Evaluate(rc, &st, m.data());  // a window of this one step
    if (Norm(g_own) == 0.0) {
      EXPECT_EQ(got, 0.0) << step;  // nothing to rescale
      EXPECT_EQ(m[MetricIndex("update_norm")], 0.0) << step;
      continue;
    }
    ASSERT_GT(target, 0.0) << step;
    EXPECT_NEAR(got, target, 1e-12 * target) << step;
    // The direction is grpo+adora's: update = -c g_own with c > 0.
    double dot = 0.0;
    for (int64_t i = 0; i < n; ++i) dot += -update[i] * g_own[i];
    EXPECT_NEAR(dot / (got * Norm(g_own)), 1.0, 1e-12) << step;
    const double free_norm = lr * (max_norm > 0.0 ? std::min(Norm(g_own), max_norm) : Norm(g_own));
    *rescaled += std::fabs(free_norm - target) > 1e-6 * target ? 1 : 0;
    // update_norm over a window of one step is this update's norm.
    EXPECT_NEAR(m[MetricIndex("update_norm")], target, 1e-12 * target) << step;
  }
}

TEST(MatchUpdateTest, EachUpdateHasTheBaselinesNormAndItsOwnDirection) {
  int rescaled = 0;
  CheckMatched(ChoiceKeys(), 0.0, &rescaled);
  EXPECT_GT(rescaled, 10);  // ADORA's updates are not grpo's size by themselves
}

TEST(MatchUpdateTest, TheBaselineIsClippedAsTheRunIs) {
  Keys keys = ChoiceKeys();
  keys["optim.max_grad_norm"] = "0.03";  // below most grpo and adora gradient norms
  int rescaled = 0;
  CheckMatched(keys, 0.03, &rescaled);
}

Results RunKeys(const Keys& keys) { return RunSweep(PlanSweep(keys, {}, 1), 1); }

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// The baseline is the run's own estimator: the factor is exactly 1 (the two
// gradients are the same computation on the same inputs, so their norms are
// the same bits) and the run is the unmatched run bit for bit. Stateful
// estimators (ema_baseline, gae's critic) keep a second state that advances
// on the same batches, so it stays equal to the run's; PPO matches per minibatch.
TEST(MatchUpdateTest, MatchingTheRunsOwnEstimatorChangesNoBit) {
  const Keys base = {{"env.prompts", "48"},        {"env.modulus", "5"},
                     {"env.chain_max_depth", "4"}, {"env.max_length", "8"},
                     {"env.max_required", "4"},    {"env.eval_prompts", "16"},
                     {"train.steps", "30"},        {"train.eval_every", "10"},
                     {"train.batch_prompts", "8"}, {"train.group_size", "4"},
                     {"optim.lr", "4"},            {"optim.max_grad_norm", "0.5"}};
  const std::vector<Keys> variants = {
      {{"env.name", "choice"}, {"estimator.name", "grpo+adora"}},
      {{"env.name", "chain"}, {"estimator.name", "ema_baseline"}},
      {{"env.name", "think"}, {"estimator.name", "gae"}, {"kl.coef", "0.05"},
       {"kl.where", "reward"}},
      {{"env.name", "chain"}, {"estimator.name", "rloo+dash"}, {"policy.kind", "mlp"},
       {"policy.hidden", "8"}, {"train.loss", "ppo"}, {"train.epochs", "2"},
       {"train.minibatches", "2"}}};
  for (const Keys& v : variants) {
    Keys off = base;
    for (const auto& [k, x] : v) off[k] = x;
    // Less the family keys this family does not read (a run refuses them).
    const Config resolved = Config::Resolve(off);
    std::erase_if(off, [&](const auto& kv) {
      const KeySpec& spec = FindKey(kv.first);
      return spec.used_by.test && !spec.used_by.test(resolved);
    });
    Keys on = off;
    on["train.match_update"] = off["estimator.name"];
    const Results a = RunKeys(off), b = RunKeys(on);
    ASSERT_EQ(a.metrics.size(), b.metrics.size());
    for (size_t i = 0; i < a.metrics.size(); ++i) {
      EXPECT_TRUE(SameBits(a.metrics[i].values, b.metrics[i].values))
          << off["estimator.name"] << " " << a.metrics[i].name;
    }
  }
}

// A baseline other than the run's moves the run (guards against a match that
// does nothing), and PPO runs with it.
TEST(MatchUpdateTest, AnotherBaselineChangesTheRun) {
  Keys off = ChoiceKeys();
  off.erase("train.match_update");
  off["train.steps"] = "40";
  Keys on = ChoiceKeys();
  on["train.steps"] = "40";
  const Results a = RunKeys(off), b = RunKeys(on);
  EXPECT_FALSE(SameBits(a.FindMetric("accuracy")->values, b.FindMetric("accuracy")->values));
  EXPECT_FALSE(
      SameBits(a.FindMetric("update_norm")->values, b.FindMetric("update_norm")->values));
  Keys ppo = on;
  ppo["train.loss"] = "ppo";
  ppo["train.epochs"] = "2";
  ppo["train.minibatches"] = "2";
  const Results c = RunKeys(ppo);
  for (size_t e = 1; e < c.steps.size(); ++e) {
    EXPECT_GT(c.FindMetric("update_norm")->values[e], 0.0) << e;
  }
}

// update_norm without matching: sgd lr |g| (clipped), adam the norm of its step.
TEST(MatchUpdateTest, UpdateNormIsTheAppliedUpdatesNorm) {
  for (const char* opt : {"sgd", "adam"}) {
    for (const char* clip : {"0", "0.02"}) {
      Keys keys = {{"env.prompts", "32"}, {"optim.name", opt}, {"optim.lr", "0.7"},
                   {"optim.max_grad_norm", clip}};
      const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
      RunState st;
      InitRun(rc, &st);
      std::vector<double> m(MetricNames().size());
      Evaluate(rc, &st, m.data());
      const int64_t n = st.policy->num_params();
      for (int step = 0; step < 5; ++step) {
        const std::vector<double> before(st.policy->params(), st.policy->params() + n);
        Step(rc, &st);
        double sq = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          const double d = st.policy->params()[i] - before[i];
          sq += d * d;
        }
        Evaluate(rc, &st, m.data());
        const double got = m[MetricIndex("update_norm")];
        EXPECT_NEAR(got, std::sqrt(sq), 1e-9 * std::sqrt(sq)) << opt << " " << clip << " " << step;
        if (std::string(opt) == "sgd" && std::string(clip) != "0") {
          EXPECT_LE(got, 0.7 * 0.02 * (1 + 1e-12));
        }
      }
    }
  }
}

std::string Refusal(const Keys& keys) {
  try {
    PlanSweep(keys, {}, 1);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(MatchUpdateTest, PlanningRefusesWhatItCannotMatch) {
  EXPECT_NE(Refusal({{"train.match_update", "grpo"}, {"optim.name", "adam"}})
                .find("key 'train.match_update' = grpo with optim.name = adam"),
            std::string::npos);
  EXPECT_NE(Refusal({{"train.match_update", "grpo+dapo"}}).find("dapo resamples"),
            std::string::npos);
  EXPECT_NE(Refusal({{"train.match_update", "grpo+aapo"}}).find("aapo samples reference"),
            std::string::npos);
  EXPECT_NE(Refusal({{"train.match_update", "remax"}}).find("remax decodes greedy"),
            std::string::npos);
  EXPECT_NE(Refusal({{"train.match_update", "grpoo"}}).find("did you mean 'grpo'"),
            std::string::npos);
  EXPECT_NE(Refusal({{"train.match_update", "grpo"}, {"estimator.name", "reinforce"},
                     {"train.group_size", "1"}})
                .find("train.group_size >= 2"),
            std::string::npos);
  // The baseline's keys are read (not refused as unused): adora's on a grpo run.
  EXPECT_EQ(Refusal({{"train.match_update", "grpo+adora"}, {"estimator.adora_tau", "0.3"}}), "");
  EXPECT_NE(Refusal({{"estimator.adora_tau", "0.3"}}).find("estimator.name has adora"),
            std::string::npos);
}

}  // namespace
}  // namespace advlab
