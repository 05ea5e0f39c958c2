// spo, krpo, krpo_persistent, bnpo and the seed_grpo / grpo_lead modifiers:
// hand-derived vectors (values from a float64 NumPy/SciPy transcription of the
// formulas in the headers), state across calls, krpo's order dependence, the
// SPO tracker converging on a Bernoulli stream, the exact answer entropy
// against enumeration / Monte Carlo, determinism.
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/bnpo_step.h"
#include "estimators/grpo_lead_step.h"
#include "estimators/krpo.h"
#include "estimators/seed_grpo.h"
#include "estimators/spo.h"
#include "estimators/testing.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

using test_util::MakeGroupBatch;

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << what << " " << i;
}

std::vector<double> RunOn(Estimator* e, const std::vector<std::vector<double>>& groups,
                        const std::vector<int32_t>& prompts = {}) {
  Batch b = MakeGroupBatch(groups, {}, prompts);
  e->Compute(&b);
  return ToVector(b.advantage);
}

TEST(KrpoTest, MatchesTheReleasedCodeAndDependsOnOrder) {
  KrpoEstimator krpo(false);
  ExpectNear(RunOn(&krpo, {{1, 0, 0, 1}}),
             {0.09950271891968875, -7.048125460439465, -5.751366702876594, 10.01481432506344},
             1e-12, "krpo [1,0,0,1]");
  // Order dependence: [1, 0] and [0, 1] are not mirror images.
  const std::vector<double> a = RunOn(&krpo, {{1, 0}}), b = RunOn(&krpo, {{0, 1}});
  ExpectNear(a, {0.09950271891968875, -7.048125460439465}, 1e-12, "krpo [1,0]");
  ExpectNear(b, {0.0, 7.118606010238362}, 1e-12, "krpo [0,1]");
  EXPECT_NE(a[0], b[1]);
  // Stateless: a fresh filter per group, whatever came before.
  EXPECT_EQ(RunOn(&krpo, {{1, 0}}), a);
  EXPECT_EQ(krpo.Clone(), nullptr);
}

TEST(KrpoTest, PersistentFilterCarriesAcrossCallsPerPrompt) {
  KrpoEstimator fresh(false), persistent(true);
  // First visit of a prompt: the same as a fresh filter.
  EXPECT_EQ(RunOn(&persistent, {{1, 0, 0, 1}}, {5}), RunOn(&fresh, {{1, 0, 0, 1}}));
  // Second visit: continues from (x, P) the first left, so differs.
  std::unique_ptr<Estimator> copy = persistent.Clone();
  const std::vector<double> second = RunOn(&persistent, {{1, 0, 0, 1}}, {5});
  EXPECT_NE(second, RunOn(&fresh, {{1, 0, 0, 1}}));
  // Hand check of rollout 0 of the second visit: 8 updates of the filter.
  double x = 0.0, p = 1.0;
  const double z[] = {1, 0, 0, 1, 1};
  for (double r : z) {
    const double pp = p + 1e-5, k = pp / (pp + 1e-2);
    x = x + k * (r - x);
    p = (1 - k) * pp;
  }
  EXPECT_NEAR(second[0], (1 - x) / (std::sqrt(p) + 1e-8), 1e-9);
  // The clone kept the state before the second visit and replays it.
  EXPECT_EQ(RunOn(copy.get(), {{1, 0, 0, 1}}, {5}), second);
  // Another prompt starts fresh.
  EXPECT_EQ(RunOn(&persistent, {{1, 0, 0, 1}}, {6}), RunOn(&fresh, {{1, 0, 0, 1}}));
}

TEST(BnpoTest, MatchesTheReleasedCodesFormula) {
  std::unique_ptr<Estimator> e = EstimatorRegistry::Get().Find("bnpo")->make();
  // alpha = 1.12963, beta = 1.09259 from the moment fit; scipy.stats.beta.pdf.
  ExpectNear(RunOn(e.get(), {{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}}),
             {0.4691657258327953, -0.4691657258327953, -0.4691657258327953, 0.4691657258327953,
              0, 0, 0, 0, -0.24718035001248773, -0.24718035001248773, -0.24718035001248773,
              0.7415410500374632},
             1e-12, "bnpo S1");
  // All group means equal: var = 0 -> alpha = beta = 1, weight 1 (Dr. GRPO).
  ExpectNear(RunOn(e.get(), {{1, 0}, {0, 1}}), {0.5, -0.5, -0.5, 0.5}, 0.0, "bnpo var 0");
  // One group: mu = 0, var = 1 -> a = b = 0 -> alpha = beta = 1.
  ExpectNear(RunOn(e.get(), {{1, 0, 0, 0}}), {0.75, -0.25, -0.25, -0.25}, 0.0, "bnpo one group");
}

TEST(BnpoTest, LogGammaAndBetaPdfAreAccurate) {
  for (double x : {1.0, 1.5, 2.0, 3.7, 9.99, 10.0, 17.25, 123.0, 1e5}) {
    EXPECT_NEAR(BnpoLogGamma(x), std::lgamma(x), 2e-14 * std::max(1.0, std::abs(std::lgamma(x))))
        << x;
  }
  EXPECT_NEAR(BnpoBetaPdf(0.3, 2.0, 5.0), 30.0 * 0.3 * std::pow(0.7, 4), 1e-13);
  EXPECT_NEAR(BnpoBetaPdf(0.0, 1.0, 3.0), 3.0, 1e-13);  // xlogy(0, 0) = 0
  EXPECT_EQ(BnpoBetaPdf(0.0, 2.0, 3.0), 0.0);
  EXPECT_EQ(BnpoBetaPdf(1.5, 1.0, 1.0), 0.0);  // outside the support
}

TEST(SpoTest, HandVectorsAndStateAcrossCalls) {
  SpoEstimator spo;  // unbound: rho = 0.96, n0 = 8
  // First visit: A = R - group mean, then z-scored over the batch.
  ExpectNear(RunOn(&spo, {{1, 0, 0, 1}, {0, 0, 0, 1}}),
             {0.999998000004, -0.999998000004, -0.999998000004, 0.999998000004, -0.499999000002,
              -0.499999000002, -0.499999000002, 1.499997000006},
             1e-12, "spo first");
  EXPECT_DOUBLE_EQ(spo.Estimate(0), 0.5);
  EXPECT_DOUBLE_EQ(spo.Estimate(1), 0.25);
  EXPECT_TRUE(std::isnan(spo.Estimate(2)));
  ExpectNear(RunOn(&spo, {{1, 1, 0, 1}, {0, 1, 1, 1}}),
             {0.25943672237096455, 0.25943672237096455, -1.8160570565967518, 0.25943672237096455,
              -1.2971836118548228, 0.7783101671128936, 0.7783101671128936, 0.7783101671128936},
             1e-12, "spo second");
  EXPECT_NEAR(spo.Estimate(0), 0.5874120365062286, 1e-15);
  EXPECT_NEAR(spo.Estimate(1), 0.4336943540229596, 1e-15);
  // All-correct groups are not zero once a prompt has history.
  Batch b = MakeGroupBatch({{1, 1, 1, 1}, {0, 0, 0, 0}});
  spo.Compute(&b);
  EXPECT_GT(b.advantage[0], 0.0);
  EXPECT_LT(b.advantage[4], 0.0);
  ASSERT_EQ(b.baseline.size(), 8u);
  EXPECT_NEAR(b.baseline[0], 0.5874120365062286, 1e-15);
}

TEST(SpoTest, TrackerConvergesOnABernoulliStream) {
  SpoEstimator spo;
  std::mt19937_64 rng(3);
  for (int t = 0; t < 4000; ++t) {
    const double r = (rng() % 1000) < 300 ? 1.0 : 0.0;
    RunOn(&spo, {{r}}, {0});
  }
  // Forgetting at 0.96: an effective window of 25 samples, sd ~ 0.09.
  EXPECT_NEAR(spo.Estimate(0), 0.3, 0.2);
  double mean = 0.0;
  for (int t = 0; t < 4000; ++t) {
    const double r = (rng() % 1000) < 300 ? 1.0 : 0.0;
    RunOn(&spo, {{r}}, {0});
    mean += spo.Estimate(0);
  }
  EXPECT_NEAR(mean / 4000, 0.3, 0.01);
}

// A real choice task and its tabular policy, for the bound paths.
struct ChoiceFixture {
  Config config = Config::Resolve({{"env.name", "choice"}, {"env.prompts", "16"}});
  std::unique_ptr<Task> task = TaskRegistry::Get().Find("choice")->make(config, 3);
  std::unique_ptr<Policy> policy = PolicyRegistry::Get().Find("tabular")->make(config, *task);
  EstimatorContext context() { return EstimatorContext{&config, task.get(), policy.get(), 0, 0}; }
};

TEST(SpoTest, ForgettingFollowsThePolicysExactMove) {
  ChoiceFixture f;
  SpoEstimator spo;
  spo.Bind(f.context());
  RunOn(&spo, {{1, 0}}, {2});  // p = 0.5: alpha = beta = 4
  // Policy unchanged: rho = clip(2^0) = 0.96 for every rollout.
  RunOn(&spo, {{1, 1}}, {2});
  double a = 0.96 * (0.96 * 4 + 1) + 1, b = 0.96 * (0.96 * 4);
  EXPECT_NEAR(spo.Estimate(2), a / (a + b), 1e-15);
  // Move prompt 2's logits: D = sum pi |dlog pi|, rho_0 = clip(2^(-D/0.06)).
  const int32_t s = f.task->FirstState(2);
  const int k = f.task->num_actions();
  std::vector<double> lp_then(f.policy->LogProbs(s), f.policy->LogProbs(s) + k);
  f.policy->params()[static_cast<int64_t>(s) * k] += 1.0;
  f.policy->ParamsChanged();
  double d = 0.0;
  for (int i = 0; i < k; ++i) {
    d += f.policy->Probs(s)[i] * std::abs(f.policy->LogProbs(s)[i] - lp_then[i]);
  }
  const double rho = std::min(0.96, std::max(0.5, std::exp2(-d / 0.06)));
  ASSERT_LT(rho, 0.96);
  RunOn(&spo, {{0, 1}}, {2});
  a = 0.96 * (rho * a + 0) + 1;
  b = 0.96 * (rho * b + 1) + 0;
  EXPECT_NEAR(spo.Estimate(2), a / (a + b), 1e-14);
}

TEST(DynamicBaselinesTest, RegistryFlagsAndDeterminism) {
  for (const char* name : {"spo", "krpo", "krpo_persistent", "bnpo"}) {
    const EstimatorEntry* e = EstimatorRegistry::Get().Find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_FALSE(e->needs_task) << name;
    std::unique_ptr<Estimator> x = e->make(), y = e->make();
    for (int t = 0; t < 3; ++t) {
      const std::vector<double> ax = RunOn(x.get(), {{1, 0, 1}, {0.5, 0.25}}, {0, 1});
      const std::vector<double> ay = RunOn(y.get(), {{1, 0, 1}, {0.5, 0.25}}, {0, 1});
      for (size_t i = 0; i < ax.size(); ++i) {
        EXPECT_EQ(std::bit_cast<uint64_t>(ax[i]), std::bit_cast<uint64_t>(ay[i])) << name;
      }
    }
  }
  EXPECT_TRUE(ModifierRegistry::Get().Find("seed_grpo")->needs_task);
  EXPECT_FALSE(ModifierRegistry::Get().Find("grpo_lead")->needs_task);
}

TEST(GrpoLeadTest, WeightsBySignAndAccuracy) {
  EXPECT_NEAR(GrpoLeadWeight(0.25), 1.492637863983287, 1e-14);
  EXPECT_NEAR(GrpoLeadWeight(0.75), 0.95, 1e-15);
  test_util::HookedBatch b;
  static_cast<Batch&>(b) = MakeGroupBatch({{1, 0, 0, 0}, {1, 1}});
  EstimatorRegistry::Get().Find("grpo")->make()->Compute(&b);
  test_util::ApplyWith(*ModifierRegistry::Get().Find("grpo_lead")->make(), &b);
  ExpectNear(ToVector(b.advantage),
             {2.238952318070294, -0.4749990500019, -0.4749990500019, -0.4749990500019, 0, 0},
             1e-12, "grpo+grpo_lead");
}

TEST(SeedGrpoTest, ScalesByTheExactAnswerEntropy) {
  ChoiceFixture f;
  SeedGrpoModifier m;
  m.Bind(f.context());  // estimator.seed_grpo_alpha = 0.02, the default
  Batch b = MakeGroupBatch({{1, 0}, {0, 1}}, {}, {3, 7});
  b.advantage = {1.0, -1.0, 2.0, -2.0};
  m.Apply(&b);
  const double se_max = std::log(static_cast<double>(f.task->num_actions()));
  for (int g = 0; g < 2; ++g) {
    const double se = f.task->AnswerEntropy(f.policy.get(), b.prompt[g]);
    EXPECT_GT(se, 0.0);
    const double factor = 1.0 - 0.02 * se / se_max;
    EXPECT_NEAR(b.advantage[2 * g], (g + 1) * factor, 1e-15);
    EXPECT_NEAR(b.advantage[2 * g + 1], -(g + 1) * factor, 1e-15);
  }
}

TEST(SeedGrpoTest, BareRewardsAndChainAreRefused) {
  const EstimatorSpec spec = ParseEstimatorName("grpo+seed_grpo");
  EXPECT_TRUE(spec.needs_task());
  Batch b = MakeGroupBatch({{1, 0}});
  EXPECT_NE(BareBatchRefusal(spec, b, FixedSampler{}).find("seed_grpo"), std::string::npos);
  Config c = Config::Resolve({{"env.name", "chain"}, {"estimator.name", "grpo+seed_grpo"}});
  std::unique_ptr<Task> chain = TaskRegistry::Get().Find("chain")->make(c, 1);
  EXPECT_TRUE(std::isnan(chain->AnswerEntropy(nullptr, 0)));
  EXPECT_ANY_THROW(ModifierRegistry::Get().Find("seed_grpo")->check(c, *chain));
}

// The exact answer entropy of think against a Monte Carlo over sampled
// responses (the answer token, or none when truncated), and choice's against
// the first decision's entropy.
TEST(AnswerEntropyTest, ThinkMatchesMonteCarloAndChoiceTheDecision) {
  ChoiceFixture f;
  const int32_t s = f.task->FirstState(5);
  EXPECT_EQ(f.task->AnswerEntropy(f.policy.get(), 5), f.policy->Entropy(s));

  Config c = Config::Resolve({{"env.name", "think"}, {"env.prompts", "8"}, {"env.answers", "4"},
                              {"env.max_length", "6"}, {"env.max_required", "3"}});
  std::unique_ptr<Task> think = TaskRegistry::Get().Find("think")->make(c, 2);
  std::unique_ptr<Policy> policy = PolicyRegistry::Get().Find("tabular")->make(c, *think);
  const int k = think->num_actions();  // THINK + 4 answers
  for (int32_t prompt : {0, 7}) {
    std::mt19937_64 rng(9 + prompt);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> count(k, 0.0);  // [0] = no answer, [1 + a] = answer a
    const int n = 400000;
    for (int i = 0; i < n; ++i) {
      int outcome = 0;
      for (int32_t t = 0; t < think->max_length(); ++t) {
        const double* pi = policy->Probs(think->FirstState(prompt) + t);
        double x = u(rng), cdf = 0.0;
        int a = k - 1;
        for (int j = 0; j < k; ++j) {
          cdf += pi[j];
          if (x < cdf) {
            a = j;
            break;
          }
        }
        if (a != 0) {
          outcome = a;
          break;
        }
      }
      count[outcome] += 1.0;
    }
    double mc = 0.0;
    for (double v : count) {
      if (v > 0) mc -= v / n * std::log(v / n);
    }
    const double exact = think->AnswerEntropy(policy.get(), prompt);
    EXPECT_NEAR(exact, mc, 0.01) << "prompt " << prompt;
    EXPECT_LE(exact, std::log(static_cast<double>(k)) + 1e-12);
  }
}

}  // namespace
}  // namespace advlab
