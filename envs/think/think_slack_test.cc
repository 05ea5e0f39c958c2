// The overthinking rule of `think` (env.think_slack, envs/think/think.h): an
// answer after more than r_p + slack thinking tokens is wrong. The rollout, the
// exact oracle, its gradient and greedy decoding all apply it; off (-1) nothing
// moves; the verbose-start regime (experiments/presets/verbose_start.ini) makes
// ADORA's length criterion judge groups TDS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "envs/think/think.h"
#include "envs/think/think_step.h"
#include "policies/tabular.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/loop.h"
#include "sim/metrics.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

// Every logit a pseudo-random value in [-scale, scale] (Philox), THINK shifted
// by `think_bias`.
void RandomizeLogits(TabularPolicy* policy, uint64_t seed, double scale, double think_bias) {
  const Philox rng(seed);
  const int A = policy->num_actions();
  for (int64_t i = 0; i < policy->num_params(); ++i) {
    const Words4 w = rng.Draw(Purpose::kInit, static_cast<uint32_t>(i), 0, 0);
    policy->params()[i] =
        scale * (2.0 * U01(w.w[0]) - 1.0) + (i % A == ThinkTask::kThink ? think_bias : 0.0);
  }
  policy->ParamsChanged();
}

// Brute force over every action sequence: success iff the answer comes after t
// thinking tokens with r_p <= t <= r_p + slack (slack < 0: no upper bound).
double Enumerate(const ThinkTask& task, TabularPolicy* policy, int32_t p, int slack) {
  const int L = task.max_length();
  const int A = task.num_actions();
  const int r = task.required(p);
  double success = 0.0;
  std::function<void(int, double)> walk = [&](int t, double prob) {
    if (t == L) return;  // truncated
    const double* pi = policy->Probs(task.State(p, t));
    for (int a = 0; a < A; ++a) {
      if (a == ThinkTask::kThink) {
        walk(t + 1, prob * pi[a]);
      } else if (t >= r && (slack < 0 || t <= r + slack) && a - 1 == task.answer(p)) {
        success += prob * pi[a];
      }
    }
  };
  walk(0, 1.0);
  return success;
}

TEST(ThinkSlackTest, KeyAndWindow) {
  EXPECT_EQ(FindKey("env.think_slack").default_value, "-1");
  EXPECT_THROW(Cfg({{"env.think_slack", "-2"}}), UserError);
  EXPECT_THROW(Cfg({{"env.think_slack", "4096"}}), UserError);
  const std::map<std::string, std::string> keys = {
      {"env.prompts", "4"}, {"env.max_length", "6"}, {"env.max_required", "4"}};
  ThinkTask off(Cfg(keys), 1);
  for (int p = 0; p < 4; ++p) EXPECT_EQ(ThinkLastRight(off.model(), p), 5);
  auto with = keys;
  with["env.think_slack"] = "1";
  ThinkTask on(Cfg(with), 1);
  const int r[4] = {1, 2, 3, 4};  // d = 1/8 .. 7/8, R = 4
  const int last[4] = {2, 3, 4, 5};  // min(r + 1, L - 1)
  for (int p = 0; p < 4; ++p) {
    ASSERT_EQ(on.required(p), r[p]);
    EXPECT_EQ(ThinkLastRight(on.model(), p), last[p]) << p;
  }
}

// L = 6, R = 2, K = 3, slack 1: the oracle equals the enumeration and the hand
// closed form sum_{r <= t <= r + 1} reach_t pi(answer | t).
TEST(ThinkSlackTest, SuccessProbabilityEqualsEnumeration) {
  ThinkTask task(Cfg({{"env.prompts", "2"}, {"env.answers", "3"}, {"env.max_length", "6"},
                      {"env.max_required", "2"}, {"env.think_slack", "1"}}),
                 5);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 17, 1.5, 1.0);
  for (int p = 0; p < 2; ++p) {
    const double want = Enumerate(task, &policy, p, 1);
    EXPECT_NEAR(task.SuccessProbability(&policy, p), want, 1e-15);
    const int a = 1 + task.answer(p), r = task.required(p);
    auto pi = [&](int t, int act) { return policy.Probs(task.State(p, t))[act]; };
    double reach = 1.0, hand = 0.0;
    for (int t = 0; t <= r + 1; ++t) {
      if (t >= r) hand += reach * pi(t, a);
      reach *= pi(t, 0);
    }
    EXPECT_NEAR(task.SuccessProbability(&policy, p), hand, 1e-15);
    // Without the rule the late answers count too: strictly more success.
    EXPECT_GT(Enumerate(task, &policy, p, -1), want + 1e-4);
  }
  // The prior with slack 0: only the answer right at t = r counts. Prompt 1
  // (r = 2): THINK and 3 answers at logit 0 before r, then one answer at 2.
  ThinkTask zero(Cfg({{"env.prompts", "2"}, {"env.answers", "3"}, {"env.max_length", "6"},
                      {"env.max_required", "2"}, {"env.think_slack", "0"},
                      {"env.think_logit", "0"}}),
                 5);
  TabularPolicy prior = TabularPolicy::FromTask(zero);
  const double e2 = std::exp(2.0);
  EXPECT_NEAR(zero.SuccessProbability(&prior, 1), 0.25 * 0.25 * e2 / (3.0 + e2), 1e-15);
}

// Exact gradient vs central finite differences of the oracle, slack 0 and 1.
TEST(ThinkSlackTest, GradientTermsMatchFiniteDifferences) {
  for (const char* slack : {"0", "1"}) {
    ThinkTask task(Cfg({{"env.prompts", "3"}, {"env.answers", "3"}, {"env.max_length", "6"},
                        {"env.max_required", "3"}, {"env.think_slack", slack}}),
                   2);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    RandomizeLogits(&policy, 23, 1.0, 1.0);
    const double weight = 0.7, h = 1e-6;
    for (int p = 0; p < 3; ++p) {
      GradientTerms terms;
      terms.Clear();
      task.SuccessGradientTerms(&policy, p, weight, &terms);
      SparseGrad grad;
      grad.Init(policy.num_params(), policy.grad_block_size());
      policy.AccumulateGrad(terms.batch, terms.coef.data(), &grad);
      int beyond = 0;  // parameters of states past the window: gradient exactly 0
      for (int64_t i = 0; i < policy.num_params(); ++i) {
        const double x = policy.params()[i];
        policy.params()[i] = x + h;
        policy.ParamsChanged();
        const double up = task.SuccessProbability(&policy, p);
        policy.params()[i] = x - h;
        policy.ParamsChanged();
        const double down = task.SuccessProbability(&policy, p);
        policy.params()[i] = x;
        policy.ParamsChanged();
        EXPECT_NEAR(grad.value[i], weight * (up - down) / (2 * h), 1e-7)
            << "slack " << slack << " prompt " << p << " param " << i;
        const int64_t state = i / task.num_actions();
        if (state / task.max_length() == p &&
            state % task.max_length() > ThinkLastRight(task.model(), p)) {
          EXPECT_EQ(grad.value[i], 0.0);
          ++beyond;
        }
      }
      EXPECT_GT(beyond, 0) << "slack " << slack << " prompt " << p;
    }
  }
}

// Sampled success rate vs the oracle, and the overthinking failures are there:
// wrong, not truncated, longer than r_p + slack + 1 tokens.
TEST(ThinkSlackTest, OracleMatchesMonteCarlo) {
  ThinkTask task(Cfg({{"env.prompts", "16"}, {"env.answers", "4"}, {"env.max_length", "8"},
                      {"env.max_required", "4"}, {"env.think_slack", "1"}}),
                 11);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 31, 0.2, 2.0);
  for (int p = 0; p < 16; ++p) {
    for (int t = task.required(p); t < task.max_length(); ++t) {
      policy.params()[task.State(p, t) * task.num_actions() + 1 + task.answer(p)] += 2.0;
    }
  }
  policy.ParamsChanged();
  const Philox rng(99);
  const int G = 4000;
  for (int p : {0, 5, 10, 15}) {  // r_p = 1, 2, 3, 4
    Batch batch;
    batch.Clear();
    const int32_t prompt = p;
    task.Rollout(/*step=*/p, rng, &policy, &prompt, 1, G, &batch);
    double hits = 0;
    int overthought = 0;
    const int limit = task.required(p) + 1 + 1;  // longest right response, tokens
    for (int r = 0; r < G; ++r) {
      hits += batch.reward[r];
      if (batch.length(r) > limit) {
        EXPECT_EQ(batch.reward[r], 0.0) << "prompt " << p << " length " << batch.length(r);
        overthought += batch.truncated[r] ? 0 : 1;
      }
    }
    const double pe = task.SuccessProbability(&policy, p);
    EXPECT_GT(pe, 0.05) << p;
    EXPECT_NEAR(hits / G, pe, 4.4 * std::sqrt(pe * (1 - pe) / G)) << "prompt " << p;
    if (p < 15) {  // r = 4: the window ends at L - 1, nothing to overthink
      EXPECT_GT(overthought, 50) << "prompt " << p;
    }
  }
}

// A slack that reaches L - 1 changes no bit: rollouts and oracle as without it.
TEST(ThinkSlackTest, WideSlackIsTheSameAsOff) {
  const std::map<std::string, std::string> keys = {
      {"env.prompts", "8"}, {"env.answers", "4"}, {"env.max_length", "8"}, {"env.max_required", "4"}};
  auto wide_keys = keys;
  wide_keys["env.think_slack"] = "7";
  ThinkTask off(Cfg(keys), 3), wide(Cfg(wide_keys), 3);
  TabularPolicy policy = TabularPolicy::FromTask(off);
  RandomizeLogits(&policy, 5, 1.0, 1.5);
  const std::vector<int32_t> prompts = {0, 3, 5, 7};
  Batch a, b;
  a.Clear();
  b.Clear();
  off.Rollout(2, Philox(8), &policy, prompts.data(), 4, 16, &a);
  wide.Rollout(2, Philox(8), &policy, prompts.data(), 4, 16, &b);
  EXPECT_EQ(a.token, b.token);
  EXPECT_EQ(a.reward, b.reward);
  for (int p = 0; p < 8; ++p) {
    const double x = off.SuccessProbability(&policy, p), y = wide.SuccessProbability(&policy, p);
    EXPECT_EQ(std::memcmp(&x, &y, sizeof x), 0) << p;
  }
}

// Hand-built responses THINK^k then the right answer: right iff r <= k <= r + s,
// scored the same by greedy decoding and by a (deterministic) rollout.
TEST(ThinkSlackTest, LateRightAnswersAreWrong) {
  ThinkTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "3"}, {"env.max_length", "8"},
                      {"env.max_required", "4"}, {"env.think_slack", "2"}}),
                 5);
  const int A = task.num_actions(), L = task.max_length();
  for (int32_t p = 0; p < 4; ++p) {
    for (int k = 0; k < L; ++k) {
      TabularPolicy policy(task.num_states(), A);
      for (int t = 0; t < L; ++t) {
        const int act = t < k ? ThinkTask::kThink : 1 + task.answer(p);
        policy.params()[static_cast<int64_t>(task.State(p, t)) * A + act] = 60.0;
      }
      policy.ParamsChanged();
      const double want = (k >= task.required(p) && k <= task.required(p) + 2) ? 1.0 : 0.0;
      int32_t length = -1;
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), want) << p << " " << k;
      EXPECT_EQ(length, k + 1);
      Batch batch;
      batch.Clear();
      task.Rollout(0, Philox(1), &policy, &p, 1, 2, &batch);
      for (int r = 0; r < 2; ++r) {
        EXPECT_EQ(batch.reward[r], want) << p << " " << k;
        EXPECT_EQ(batch.length(r), k + 1);
        EXPECT_EQ(batch.truncated[r], 0);
      }
    }
  }
}

double At(const RunRecord& rec, size_t evals, const std::string& name, size_t e) {
  const int m = MetricIndex(name);
  EXPECT_GE(m, 0) << name;
  return rec.values[static_cast<size_t>(m) * evals + e];
}

// The verbose-start regime (the keys of experiments/presets/verbose_start.ini,
// shortened): under the initial policy wrong answers are long (overthinking), so
// ADORA's length criterion judges many mixed groups TDS. Without the rule (and
// with the default prior) almost every group is TAS. adora_weight is the mean
// weight: tas + lambda (1 - tas) in attenuate mode.
TEST(ThinkSlackTest, VerboseStartMakesAdoraLengthAct) {
  std::map<std::string, std::string> keys = {
      {"env.name", "think"},           {"env.prompts", "64"},
      {"env.think_logit", "5"},        {"env.answer_logit", "3"},
      {"env.think_slack", "2"},        {"estimator.name", "grpo+adora"},
      {"estimator.adora_criterion", "length"}, {"estimator.adora_mode", "attenuate"},
      {"train.steps", "20"},           {"train.eval_every", "20"},
      {"optim.lr", "0.001"}};
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(keys));
  const RunRecord rec = TrainRun(rc);
  const size_t E = rc.EvalSteps().size();
  ASSERT_EQ(E, 2u);
  const double tas = At(rec, E, "tas_frac", 1), mixed = At(rec, E, "tas_mixed_frac", 1);
  EXPECT_LT(tas, 0.8);
  EXPECT_LT(mixed, 0.8);
  EXPECT_GT(mixed, 0.3);
  EXPECT_NEAR(At(rec, E, "adora_weight", 1), tas + 0.1 * (1.0 - tas), 1e-12);
  EXPECT_GT(At(rec, E, "response_length_wrong", 1), At(rec, E, "response_length_correct", 1));
  // The same prior without the rule, and the default think: mostly TAS.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"env.think_slack", "-1"}, {"env.think_logit", "3"}}) {
    keys[key] = value;
    if (key == "env.think_logit") keys["env.answer_logit"] = "2";
    const RunConfig rc2 = RunConfig::FromConfig(Config::Resolve(keys));
    const RunRecord rec2 = TrainRun(rc2);
    EXPECT_GT(At(rec2, E, "tas_frac", 1), 0.85) << key;
  }
}

}  // namespace
}  // namespace advlab
