// optimal and optimal_token: Task::OptimalBaseline against brute-force
// enumeration of every response (choice, think with and without the
// overthinking rule, chain with repeated operations under both rewards, with
// verifier noise); the estimators' outputs; optimal_token against a
// hand-derived group. The variance comparison with oracle / rloo / grpo-mean
// lives in passk_test.cc (the exact-enumeration harness).
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "envs/chain/chain.h"
#include "envs/choice/choice.h"
#include "envs/think/think.h"
#include "estimators/testing.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

using Decision = std::pair<int32_t, int32_t>;  // (state, action)

// |grad_logits log P(y)|^2 with one logit block per state: the scores of a
// state visited twice add up before squaring.
double ScoreNormSq(Policy* policy, const std::vector<Decision>& y) {
  std::map<int32_t, std::vector<double>> block;
  const int k = policy->num_actions();
  for (const Decision& d : y) {
    std::vector<double>& g = block[d.first];
    g.resize(static_cast<size_t>(k), 0.0);
    const double* pi = policy->Probs(d.first);
    for (int a = 0; a < k; ++a) g[a] += (a == d.second ? 1.0 : 0.0) - pi[a];
  }
  double sq = 0.0;
  for (const auto& kv : block)
    for (double v : kv.second) sq += v * v;
  return sq;
}

double Prob(Policy* policy, const std::vector<Decision>& y) {
  double p = 1.0;
  for (const Decision& d : y) p *= policy->Probs(d.first)[d.second];
  return p;
}

// b* by enumeration: `each` calls back with every response and its correctness.
double BruteForce(Policy* policy, double fp, double fn,
                  const std::function<void(const std::function<void(
                                               const std::vector<Decision>&, bool)>&)>& each) {
  double num = 0.0, den = 0.0;
  each([&](const std::vector<Decision>& y, bool correct) {
    const double p = Prob(policy, y), sq = ScoreNormSq(policy, y);
    num += p * sq * (fp + (1.0 - fp - fn) * (correct ? 1.0 : 0.0));
    den += p * sq;
  });
  return num / den;
}

struct Fixture {
  Config config;
  std::unique_ptr<Task> task;
  std::unique_ptr<Policy> policy;
};

Fixture Make(const std::map<std::string, std::string>& keys, uint64_t seed) {
  Fixture s;
  s.config = Config::Resolve(keys);
  s.task = TaskRegistry::Get().Find(s.config.Str("env.name"))->make(s.config, seed);
  s.policy = PolicyRegistry::Get().Find("tabular")->make(s.config, *s.task);
  // Move away from the prior so that every state has its own distribution.
  double* w = s.policy->params();
  for (int64_t i = 0; i < s.policy->num_params(); ++i) w[i] += 0.37 * std::sin(1.7 * i + 0.3);
  s.policy->ParamsChanged();
  return s;
}

constexpr double kTol = 1e-12;

TEST(OptimalBaselineTest, ChoiceMatchesClosedFormAndEnumeration) {
  Fixture s = Make({{"env.name", "choice"}, {"env.prompts", "5"}, {"env.answers", "4"}}, 3);
  for (int32_t q = 0; q < 5; ++q) {
    const int32_t ans = static_cast<const ChoiceTask&>(*s.task).answer(q);
    for (double fp : {0.0, 0.1}) {
      for (double fn : {0.0, 0.2}) {
        const double got = s.task->OptimalBaseline(s.policy.get(), q, fp, fn);
        const double p = s.task->SuccessProbability(s.policy.get(), q);
        const double want = BruteForce(s.policy.get(), fp, fn, [&](const auto& emit) {
          for (int32_t a = 0; a < 4; ++a) emit({{q, a}}, a == ans);
        });
        EXPECT_NEAR(got, want, kTol) << q;
        // It differs from the oracle baseline fp + scale p in general.
        if (fp == 0.0 && fn == 0.0) { EXPECT_GT(std::abs(got - p), 1e-6) << q; }
      }
    }
  }
}

void CheckThink(const std::map<std::string, std::string>& keys) {
  Fixture s = Make(keys, 5);
  const ThinkTask& task = static_cast<const ThinkTask&>(*s.task);
  const int32_t len = task.max_length(), answers = task.num_actions() - 1;
  const int32_t slack = static_cast<int32_t>(s.config.Int("env.think_slack"));
  for (int32_t q = 0; q < task.num_prompts(); ++q) {
    const int32_t req = task.required(q), ans = task.answer(q);
    const int32_t last = slack < 0 ? len - 1 : std::min(req + slack, len - 1);
    for (double fp : {0.0, 0.05}) {
      const double fn = 0.1;
      const double want = BruteForce(s.policy.get(), fp, fn, [&](const auto& emit) {
        std::vector<Decision> y;
        for (int32_t t = 0; t < len; ++t) {
          for (int32_t k = 0; k < answers; ++k) {
            std::vector<Decision> z = y;
            z.push_back({task.State(q, t), 1 + k});
            emit(z, k == ans && t >= req && t <= last);
          }
          y.push_back({task.State(q, t), ThinkTask::kThink});
        }
        emit(y, false);  // truncated
      });
      EXPECT_NEAR(s.task->OptimalBaseline(s.policy.get(), q, fp, fn), want, kTol) << q;
    }
  }
}

TEST(OptimalBaselineTest, ThinkMatchesEnumeration) {
  CheckThink({{"env.name", "think"}, {"env.prompts", "4"}, {"env.answers", "3"},
              {"env.max_length", "5"}, {"env.max_required", "3"}});
  CheckThink({{"env.name", "think"}, {"env.prompts", "4"}, {"env.answers", "3"},
              {"env.max_length", "5"}, {"env.max_required", "3"}, {"env.think_slack", "1"}});
}

void CheckChain(const std::string& reward) {
  // Two operations and depth up to 4: operations repeat, so a response can
  // visit the same state twice (the cross terms matter).
  Fixture s = Make({{"env.name", "chain"}, {"env.prompts", "6"}, {"env.ops", "2"},
                  {"env.modulus", "3"}, {"env.chain_min_depth", "2"},
                  {"env.chain_max_depth", "4"}, {"env.chain_reward", reward}},
                 7);
  const ChainTask& task = static_cast<const ChainTask&>(*s.task);
  const int32_t m = task.modulus();
  int repeats = 0;
  for (int32_t q = 0; q < task.num_prompts(); ++q) {
    const int32_t n = task.depth(q);
    std::vector<int32_t> correct(static_cast<size_t>(n));
    task.CorrectResults(q, correct.data());
    const double want = BruteForce(s.policy.get(), 0.05, 0.1, [&](const auto& emit) {
      int64_t total = 1;
      for (int32_t t = 0; t < n; ++t) total *= m;
      for (int64_t code = 0; code < total; ++code) {
        std::vector<Decision> y;
        int64_t c = code;
        int32_t prev = task.start(q);
        bool all = true;
        std::map<int32_t, int> seen;
        for (int32_t t = 0; t < n; ++t) {
          const int32_t a = static_cast<int32_t>(c % m);
          c /= m;
          const int32_t state = task.op(q, t) * m + prev;
          if (++seen[state] == 2) ++repeats;
          y.push_back({state, a});
          all = all && a == correct[t];
          prev = a;
        }
        emit(y, reward == "all_steps" ? all : prev == correct[n - 1]);
      }
    });
    EXPECT_NEAR(s.task->OptimalBaseline(s.policy.get(), q, 0.05, 0.1), want, kTol)
        << reward << " prompt " << q;
  }
  EXPECT_GT(repeats, 0) << "the check must cover responses that revisit a state";
}

TEST(OptimalBaselineTest, ChainOutcomeMatchesEnumerationWithRepeatedStates) {
  CheckChain("outcome");
}
TEST(OptimalBaselineTest, ChainAllStepsMatchesEnumerationWithRepeatedStates) {
  CheckChain("all_steps");
}

TEST(OptimalBaselineTest, EstimatorSubtractsTheTaskValueAndWritesIt) {
  Fixture s = Make({{"env.name", "choice"}, {"env.prompts", "8"}}, 3);
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find("optimal");
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->needs_task);
  std::unique_ptr<Estimator> e = entry->make();
  e->Bind(EstimatorContext{&s.config, s.task.get(), s.policy.get(), 0.1, 0.05});
  Batch b = test_util::MakeGroupBatch({{1, 0, 1}, {0, 0}, {1}}, {}, {2, 5, 7});
  e->Compute(&b);
  ASSERT_EQ(b.baseline.size(), 6u);
  int r = 0;
  for (int g = 0; g < 3; ++g) {
    const double bs = s.task->OptimalBaseline(s.policy.get(), b.prompt[g], 0.1, 0.05);
    for (int i = 0; i < b.group_size(g); ++i, ++r) {
      EXPECT_EQ(b.baseline[r], bs);
      EXPECT_EQ(b.advantage[r], b.reward[r] - bs);
    }
  }
  // Bare rewards: refused at planning.
  EXPECT_NE(BareBatchRefusal(ParseEstimatorName("optimal"), b, FixedSampler{}), "");
}

TEST(OptimalTokenTest, HandDerivedGroupOfTwo) {
  Fixture s = Make({{"env.name", "choice"}, {"env.prompts", "4"}, {"env.answers", "3"}}, 3);
  std::unique_ptr<Estimator> e = EstimatorRegistry::Get().Find("optimal_token")->make();
  e->Bind(EstimatorContext{&s.config, s.task.get(), s.policy.get(), 0.0, 0.0});
  // Prompt 1: rollouts answer 0 (R = 1) and 2 (R = 0); one token each.
  Batch b = test_util::MakeGroupBatch({{1, 0}, {1, 1}}, {}, {1, 2});
  b.state = {1, 1, 2, 2};
  b.token = {0, 2, 1, 1};
  e->Compute(&b);
  const double* pi = s.policy->Probs(1);
  const double s2 = pi[0] * pi[0] + pi[1] * pi[1] + pi[2] * pi[2];
  const double w0 = 1 - 2 * pi[0] + s2, w1 = 1 - 2 * pi[2] + s2;
  const double base = (1.0 * w0 + 0.0 * w1) / (w0 + w1 + 1e-8);
  ASSERT_EQ(b.token_advantage.size(), 4u);
  EXPECT_NEAR(b.token_advantage[0], 1.0 - base, 1e-15);
  EXPECT_NEAR(b.token_advantage[1], 0.0 - base, 1e-15);
  EXPECT_EQ(b.token_advantage[2], 0.0);  // all-equal group: exactly 0
  EXPECT_EQ(b.token_advantage[3], 0.0);
  EXPECT_EQ(b.advantage[0], b.token_advantage[0]);
  EXPECT_NEAR(b.baseline[0], base, 1e-15);
  EXPECT_EQ(b.baseline[2], 1.0);
}

TEST(OptimalTokenTest, PerPositionOverReachingRolloutsWithKlRewards) {
  Fixture s = Make({{"env.name", "choice"}, {"env.prompts", "4"}, {"env.answers", "3"}}, 3);
  std::unique_ptr<Estimator> e = EstimatorRegistry::Get().Find("optimal_token")->make();
  e->Bind(EstimatorContext{&s.config, s.task.get(), s.policy.get(), 0.0, 0.0});
  // One group: lengths 2 and 1; token rewards (KL) -0.25 on the first token.
  Batch b = test_util::MakeGroupBatch({{0.75, 0.0}}, {{2, 1}});
  b.state = {0, 1, 2};
  b.token = {1, 0, 2};
  b.token_reward = {-0.25, 0.0, 0.0};
  e->Compute(&b);
  auto w = [&](int32_t st, int32_t a) {
    const double* p = s.policy->Probs(st);
    return 1 - 2 * p[a] + p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
  };
  // Rollout 0: outcome 1 on token 1 (0.75 + 0.25), KL -0.25 on token 0: G = (0.75, 1).
  const double wa = w(0, 1), wb = wa + w(1, 0), wc = w(2, 2);
  const double b0 = (0.75 * wa + 0.0 * wc) / (wa + wc + 1e-8);
  EXPECT_NEAR(b.token_advantage[0], 0.75 - b0, 1e-15);
  EXPECT_NEAR(b.token_advantage[2], 0.0 - b0, 1e-15);
  // Position 1: only rollout 0 reaches it: B_1 = G (one value), A = 0.
  (void)wb;
  EXPECT_EQ(b.token_advantage[1], 0.0);
}

}  // namespace
}  // namespace advlab
