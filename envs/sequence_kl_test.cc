// Task::SequenceKL (the kl_init metric): the exact KL between the response
// distributions of a policy and pi_0. On `chain` and `think` the DP over states
// equals brute-force enumeration of every response, sum P log(P / Q), and a
// Monte-Carlo estimate from the family's own rollouts; it is 0 at the initial
// policy (tabular and MLP); on `choice` it is the first decision's KL with the
// bits of the formula the eval loop used before it existed.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "envs/chain/chain.h"
#include "envs/choice/choice.h"
#include "envs/think/think.h"
#include "policies/mlp.h"
#include "policies/tabular.h"
#include "sim/batch.h"
#include "sim/config.h"
#include "sim/loop.h"
#include "sim/metrics.h"
#include "sim/reference_policy.h"
#include "sim/rng.h"
#include "sim/softmax.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

// A trained-ish policy: the prior plus pseudo-random logits in [-scale, scale).
void Perturb(TabularPolicy* policy, uint64_t seed, double scale) {
  const Philox rng(seed);
  double* z = policy->params();
  for (int64_t i = 0; i < policy->num_params(); ++i) {
    const double u = U01(rng.Draw(Purpose::kInit, static_cast<uint32_t>(i), 0, 0).w[0]);
    z[i] += scale * (2.0 * u - 1.0);
  }
  policy->ParamsChanged();
}

// sum over responses of P log(P / Q), P and Q the products of the policies'
// probabilities along each response (std::log: an independent reference).
struct Enumerated {
  double kl = 0.0;
  double total = 0.0;  // sum P: 1 when every response was visited
  void Add(double p, double q) {
    total += p;
    if (p > 0.0) kl += p * std::log(p / q);
  }
};

Enumerated EnumerateChain(const ChainTask& task, Policy* pi, Policy* ref, int32_t prompt) {
  const int m = task.modulus();
  const int n = task.depth(prompt);
  Enumerated e;
  std::function<void(int, int, double, double)> walk = [&](int t, int prev, double p, double q) {
    if (t == n) {
      e.Add(p, q);
      return;
    }
    const int32_t s = task.op(prompt, t) * m + prev;
    for (int a = 0; a < m; ++a) walk(t + 1, a, p * pi->Probs(s)[a], q * ref->Probs(s)[a]);
  };
  walk(0, task.start(prompt), 1.0, 1.0);
  return e;
}

Enumerated EnumerateThink(const ThinkTask& task, Policy* pi, Policy* ref, int32_t prompt) {
  const int L = task.max_length();
  const int A = task.num_actions();
  Enumerated e;
  double p = 1.0, q = 1.0;  // THINK^t so far
  for (int t = 0; t < L; ++t) {
    const int32_t s = task.State(prompt, t);
    for (int a = 0; a < A; ++a) {
      if (a != ThinkTask::kThink) e.Add(p * pi->Probs(s)[a], q * ref->Probs(s)[a]);
    }
    p *= pi->Probs(s)[ThinkTask::kThink];
    q *= ref->Probs(s)[ThinkTask::kThink];
  }
  e.Add(p, q);  // L THINKs: truncated
  return e;
}

// Monte Carlo: the mean over G sampled responses of log P / Q (the sum of the
// per-token log ratios); returns {mean, standard error}.
std::pair<double, double> MonteCarlo(const Task& task, Policy* pi, Policy* ref, int32_t prompt,
                                     int G) {
  Batch batch;
  batch.Clear();
  task.Rollout(/*step=*/0, Philox(77), pi, &prompt, 1, G, &batch);
  double sum = 0.0, sq = 0.0;
  for (int r = 0; r < G; ++r) {
    double x = 0.0;
    for (int32_t k = batch.token_begin[r]; k < batch.token_begin[r + 1]; ++k) {
      x += pi->LogProbs(batch.state[k])[batch.token[k]] -
           ref->LogProbs(batch.state[k])[batch.token[k]];
    }
    sum += x;
    sq += x * x;
  }
  const double mean = sum / G;
  return {mean, std::sqrt((sq / G - mean * mean) / G)};
}

TEST(SequenceKlTest, ChainEqualsEnumerationAndMonteCarlo) {
  for (const char* mode : {"outcome", "all_steps"}) {
    ChainTask task(Cfg({{"env.prompts", "8"},
                        {"env.modulus", "3"},
                        {"env.ops", "2"},
                        {"env.chain_min_depth", "1"},
                        {"env.chain_max_depth", "5"},
                        {"env.chain_reward", mode},
                        {"env.eval_prompts", "8"}}),
                   9);
    ReferencePolicy ref(task);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    for (int32_t p = 0; p < 16; ++p) EXPECT_EQ(task.SequenceKL(&policy, &ref, p), 0.0) << p;
    Perturb(&policy, 21, 1.5);
    bool beyond_first = false;
    for (int32_t p = 0; p < 16; ++p) {
      const Enumerated e = EnumerateChain(task, &policy, &ref, p);
      ASSERT_NEAR(e.total, 1.0, 1e-12);
      const double kl = task.SequenceKL(&policy, &ref, p);
      EXPECT_NEAR(kl, e.kl, 1e-12) << mode << " prompt " << p;
      EXPECT_GT(kl, 0.0);
      // Deeper prompts have more than the first decision's KL.
      const int32_t s = task.FirstState(p);
      const double first = RowKL(policy.Probs(s), policy.LogProbs(s), ref.LogProbs(s), 3);
      if (task.depth(p) > 1 && kl > first + 1e-3) beyond_first = true;
    }
    EXPECT_TRUE(beyond_first);
    for (int32_t p : {3, 7, 12}) {
      const auto [mean, se] = MonteCarlo(task, &policy, &ref, p, 20000);
      EXPECT_NEAR(mean, task.SequenceKL(&policy, &ref, p), 4.4 * se) << mode << " prompt " << p;
    }
  }
}

TEST(SequenceKlTest, ThinkEqualsEnumerationAndMonteCarlo) {
  for (const char* slack : {"-1", "1"}) {  // the overthinking rule moves no probability
    ThinkTask task(Cfg({{"env.name", "think"},
                        {"env.prompts", "6"},
                        {"env.answers", "3"},
                        {"env.max_length", "5"},
                        {"env.max_required", "3"},
                        {"env.think_slack", slack}}),
                   4);
    ReferencePolicy ref(task);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    for (int32_t p = 0; p < 6; ++p) EXPECT_EQ(task.SequenceKL(&policy, &ref, p), 0.0) << p;
    Perturb(&policy, 5, 2.0);
    for (int32_t p = 0; p < 6; ++p) {
      const Enumerated e = EnumerateThink(task, &policy, &ref, p);
      ASSERT_NEAR(e.total, 1.0, 1e-12);
      const double kl = task.SequenceKL(&policy, &ref, p);
      EXPECT_NEAR(kl, e.kl, 1e-12) << "prompt " << p;
      const int32_t s = task.FirstState(p);
      EXPECT_GT(kl, RowKL(policy.Probs(s), policy.LogProbs(s), ref.LogProbs(s), 4) + 1e-3);
    }
    for (int32_t p : {0, 5}) {
      const auto [mean, se] = MonteCarlo(task, &policy, &ref, p, 20000);
      EXPECT_NEAR(mean, task.SequenceKL(&policy, &ref, p), 4.4 * se) << "prompt " << p;
    }
  }
}

TEST(SequenceKlTest, ThinkStopsWhereThinkingHasProbabilityZero) {
  ThinkTask task(Cfg({{"env.name", "think"}, {"env.prompts", "2"}, {"env.answers", "2"},
                      {"env.max_length", "4"}, {"env.max_required", "2"}}),
                 1);
  ReferencePolicy ref(task);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  // THINK impossible at t = 1: only states (p, 0) and (p, 1) are visited.
  policy.params()[task.State(0, 1) * 3 + ThinkTask::kThink] = -1e4;
  policy.params()[task.State(0, 2) * 3 + 1] = 50.0;  // unreachable: no KL
  policy.ParamsChanged();
  const double kl1 = RowKL(policy.Probs(task.State(0, 1)), policy.LogProbs(task.State(0, 1)),
                           ref.LogProbs(task.State(0, 1)), 3);
  const double reach1 = policy.Probs(task.State(0, 0))[ThinkTask::kThink];
  EXPECT_EQ(task.SequenceKL(&policy, &ref, 0), reach1 * kl1);
  EXPECT_NEAR(task.SequenceKL(&policy, &ref, 0), EnumerateThink(task, &policy, &ref, 0).kl, 1e-12);
}

TEST(SequenceKlTest, ZeroAtTheMlpsInitialPolicy) {
  ChainTask chain(Cfg({{"env.prompts", "8"}, {"env.eval_prompts", "8"}, {"env.modulus", "4"},
                       {"env.ops", "3"}, {"env.chain_max_depth", "5"}}),
                  3);
  ThinkTask think(Cfg({{"env.name", "think"}, {"env.prompts", "8"}}), 3);
  for (const Task* task : {static_cast<const Task*>(&chain), static_cast<const Task*>(&think)}) {
    ReferencePolicy ref(*task);
    MlpPolicy::Options o;
    o.hidden = 8;
    o.seed = 2;
    MlpPolicy mlp(*task, o);
    for (int32_t p = 0; p < 8; ++p) EXPECT_EQ(task->SequenceKL(&mlp, &ref, p), 0.0) << p;
    o.out_init_scale = 0.5;  // away from the prior: the MLP goes through the adaptor
    MlpPolicy moved(*task, o);
    for (int32_t p = 0; p < 8; ++p) EXPECT_GT(task->SequenceKL(&moved, &ref, p), 0.0) << p;
  }
  // The adaptor walks the same states: enumeration agrees on chain.
  ReferencePolicy ref(chain);
  MlpPolicy::Options o;
  o.hidden = 8;
  o.out_init_scale = 0.5;
  MlpPolicy moved(chain, o);
  for (int32_t p = 0; p < 8; ++p) {
    EXPECT_NEAR(chain.SequenceKL(&moved, &ref, p), EnumerateChain(chain, &moved, &ref, p).kl,
                1e-12);
  }
}

// choice has one decision: the default SequenceKL is the first decision's KL,
// bit for bit the loop's former formula (pi_0's log-probabilities by Softmax of
// the prior at FirstState, summed in action order).
TEST(SequenceKlTest, ChoiceIsTheFirstDecisionsKlBitForBit) {
  ChoiceTask task(Cfg({{"env.prompts", "40"}}), 6);
  ReferencePolicy ref(task);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  Perturb(&policy, 11, 3.0);
  const int K = task.num_actions();
  std::vector<double> z(K), p0(K), lp0(K);
  for (int32_t prompt : task.eval_prompts()) {
    const int32_t s = task.FirstState(prompt);
    task.InitialLogits(s, z.data());
    Softmax(z.data(), K, p0.data(), lp0.data());
    const double* pr = policy.Probs(s);
    const double* lp = policy.LogProbs(s);
    double k = 0.0;
    for (int a = 0; a < K; ++a) k += pr[a] * (lp[a] - lp0[a]);
    EXPECT_EQ(task.SequenceKL(&policy, &ref, prompt), k) << prompt;
  }
}

// The eval metric: exactly 0 at step 0 on every family (no KL term or AAPO, so
// the eval builds the reference itself), positive once trained.
TEST(SequenceKlTest, KlInitMetricStartsAtZero) {
  for (const char* env : {"choice", "chain", "think"}) {
    const RunConfig rc = RunConfig::FromConfig(
        Cfg({{"env.name", env}, {"train.steps", "20"}, {"train.eval_every", "10"},
             {"env.prompts", "64"}, {"optim.lr", "4"}}));
    const RunRecord rec = TrainRun(rc);
    const size_t E = rc.EvalSteps().size();
    const size_t m = MetricIndex("kl_init");
    EXPECT_EQ(rec.values[m * E], 0.0) << env;
    EXPECT_GT(rec.values[m * E + E - 1], 0.0) << env;
  }
}

}  // namespace
}  // namespace advlab
