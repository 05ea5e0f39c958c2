// gae: the verl vectors (estimators.md §2.1, §12.7), the KL-in-reward path, the
// critic's learning on a real task, Clone, determinism, the unbound path (values
// from batch.value, as `advlab advantage --values` gives them) and bad input.
//
// The §2.1 / §12.7 references are verl's, run in float32 and printed to 6
// decimals; we compute in double, so the advantages are pinned to our own
// double values (an independent float64 Python re-statement of §2.1 and
// masked_whiten, given in full digits below) and compared with verl's to 6
// decimals where float32 agrees.
#include "estimators/gae.h"

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/testing.h"

#include "sim/batch.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/run_config.h"
#include "sim/policy.h"
#include "sim/rng.h"
#include "sim/task.h"

#include "tests/alloc_counter.h"  // replaces operator new in this binary

namespace advlab {
namespace {

using test_util::ExpectNear6;

void ExpectNear(std::span<const double> got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol) << what << " [" << i << "]";
  }
}

void ExpectSameBits(std::span<const double> a, std::span<const double> b,
                    const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i]), std::bit_cast<uint64_t>(b[i])) << what << " [" << i
                                                                            << "]";
  }
}

// Raw GAE of rollouts given per-token rewards and values.
struct Raw {
  std::vector<double> adv, ret;
};
Raw Gae(const std::vector<double>& rewards, const std::vector<double>& values,
        const std::vector<int32_t>& token_begin, double gamma, double lambda) {
  Raw out{std::vector<double>(rewards.size()), std::vector<double>(rewards.size())};
  GaeAdvantages(rewards.data(), values.data(), token_begin.data(),
                static_cast<int>(token_begin.size()) - 1, gamma, lambda, out.adv.data(),
                out.ret.data());
  return out;
}

std::vector<double> Whitened(std::vector<double> x) {
  WhitenTokens(x.data(), static_cast<int>(x.size()));
  return x;
}

// ---- the kernel: §2.1 and §12.7 -------------------------------------------------

TEST(GaeKernel, Section2_1) {
  const Raw g = Gae({0, 0, 1}, {0.5, 0.6, 0.7}, {0, 3}, 1.0, 1.0);
  ExpectNear(g.ret, {1, 1, 1}, 1e-15, "returns");
  ExpectNear(g.adv, {0.5, 0.4, 0.3}, 1e-15, "raw");
  const std::vector<double> w = Whitened(g.adv);
  // float64: mean 1.2 / (3 + 1e-8), unbiased std 0.1 (+1e-8 inside the sqrt).
  ExpectNear(w, {0.9999995150003652, 1.3333326126764546e-08, -0.9999994883337129}, 1e-12,
             "whitened (float64)");
  // verl prints [0.999999, 0.000000, -0.999999] from float32; our 0.99999952
  // is 5.2e-7 from it, just past the 6-decimal half unit.
  ExpectNear(w, {0.999999, 0.0, -0.999999}, 1e-6, "whitened (verl)");
}

TEST(GaeKernel, Section12_7Discounted) {
  // Row 1 has two valid tokens; verl's padded third token (V = 9) is outside its
  // mask, so it enters neither the recursion nor masked_whiten's statistics.
  const Raw g = Gae({0, 0, 1, 0, 0.5}, {0.5, 0.6, 0.7, 0.2, 0.4}, {0, 3, 5}, 0.99, 0.95);
  ExpectNear6(g.ret, {0.946829, 0.975150, 1.0, 0.490050, 0.5}, "returns");
  ExpectNear(g.adv, {0.446828575, 0.37515, 0.3, 0.29005, 0.1}, 1e-15, "raw");
  const std::vector<double> w = Whitened(g.adv);
  ExpectNear(w, {1.1136148790, 0.5609161768, -0.0185499673, -0.0952723643, -1.5607087008}, 1e-9,
             "whitened (float64)");
  // verl (float32) prints -0.095273 for row 1's first token: its float32 run
  // gives -0.0952728, float64 -0.0952724; the other four agree to 6 decimals.
  ExpectNear6(w, {1.113615, 0.560916, -0.018550, -0.095272, -1.560709}, "whitened");
}

TEST(GaeKernel, LambdaZeroIsOneStepTdAndEmptyRolloutsAreSkipped) {
  // gamma 0.5, lambda 0: A_t = r_t + gamma V_{t+1} - V_t (dyadic: exact).
  const Raw g = Gae({0, 0, 1, 1}, {0.25, 0.5, 0.75, 0.5}, {0, 3, 3, 4}, 0.5, 0.0);
  EXPECT_EQ(g.adv, (std::vector<double>{0.0, -0.125, 0.25, 0.5}));
  EXPECT_EQ(g.ret, (std::vector<double>{0.25, 0.375, 1.0, 1.0}));
}

// ---- the estimator on a bound task ------------------------------------------------

// A `choice` task with `prompts` prompts (states 0 .. prompts-1) and its tabular
// policy, kept fixed: the critic then has a fixed target.
using Keys = std::map<std::string, std::string>;

struct Fixture {
  explicit Fixture(Keys keys, uint64_t seed = 3) {
    keys.emplace("env.name", "choice");
    config = Config::Resolve(keys);
    task = TaskRegistry::Get().Find(config.Str("env.name"))->make(config, seed);
    policy = PolicyRegistry::Get().Find(config.Str("policy.kind"))->make(config, *task);
  }
  std::unique_ptr<GaeEstimator> Make() const {
    auto e = std::make_unique<GaeEstimator>();
    e->Bind(EstimatorContext{&config, task.get(), policy.get(), 0.0, 0.0});
    return e;
  }
  // The batch of step `step`: every prompt once, `g` rollouts each.
  Batch Sample(int64_t step, int g) const {
    Batch b;
    b.Clear();
    task->Advance(step);
    std::vector<int32_t> prompts(static_cast<size_t>(task->num_prompts()));
    for (size_t p = 0; p < prompts.size(); ++p) prompts[p] = static_cast<int32_t>(p);
    task->Rollout(step, Philox(11), policy.get(), prompts.data(),
                  static_cast<int>(prompts.size()), g, &b);
    return b;
  }
  Config config;
  std::unique_ptr<Task> task;
  std::unique_ptr<Policy> policy;
};

// One group per rollout, with the given token states and rewards.
Batch TokenBatch(const std::vector<std::vector<int32_t>>& states,
                 const std::vector<double>& rewards) {
  Batch b;
  b.Clear();
  for (size_t r = 0; r < states.size(); ++r) {
    b.prompt.push_back(static_cast<int32_t>(r));
    b.reward.push_back(rewards[r]);
    b.correct.push_back(rewards[r] > 0 ? 1 : 0);
    b.truncated.push_back(0);
    for (int32_t s : states[r]) {
      b.token.push_back(0);
      b.state.push_back(s);
      b.logprob.push_back(0.0);
    }
    b.token_begin.push_back(static_cast<int32_t>(b.token.size()));
    b.group_begin.push_back(static_cast<int32_t>(b.reward.size()));
  }
  return b;
}

// A bound tabular estimator whose critic holds `values` at states 0, 1, ...
std::unique_ptr<GaeEstimator> WithValues(const Fixture& f, const std::vector<double>& values,
                                         GaeEstimator::Options o) {
  o.critic = CriticKind::kTabular;
  auto e = std::make_unique<GaeEstimator>(o);
  e->Bind(EstimatorContext{nullptr, f.task.get(), f.policy.get(), 0.0, 0.0});
  for (size_t s = 0; s < values.size(); ++s) e->mutable_params()[s] = values[s];
  return e;
}

TEST(Gae, EstimatorReproducesSection12_7AndStepsTheCritic) {
  const Fixture f(Keys{{"env.prompts", "8"}});
  GaeEstimator::Options o;
  o.gamma = 0.99;
  o.lambda = 0.95;
  o.lr = 0.5;
  auto e = WithValues(f, {0.5, 0.6, 0.7, 0.2, 0.4}, o);
  Batch b = TokenBatch({{0, 1, 2}, {3, 4}}, {1.0, 0.5});
  e->Compute(&b);
  ExpectNear(b.token_advantage,
             {1.1136148790, 0.5609161768, -0.0185499673, -0.0952723643, -1.5607087008}, 1e-9,
             "token_advantage");
  ASSERT_EQ(b.advantage.size(), 2u);
  EXPECT_EQ(b.advantage[0], b.token_advantage[0]);  // the first token's
  EXPECT_EQ(b.advantage[1], b.token_advantage[3]);
  // One SGD step on 0.5 * mean (V - ret)^2 with the returns of the old values:
  // V_s <- V_s - lr (V_s - ret_s) / 5 (each state holds one token).
  const std::vector<double> v = {0.5, 0.6, 0.7, 0.2, 0.4};
  const Raw g = Gae({0, 0, 1, 0, 0.5}, v, {0, 3, 5}, 0.99, 0.95);
  for (int s = 0; s < 5; ++s) {
    EXPECT_DOUBLE_EQ(e->Value(s), v[s] - 0.5 * ((v[s] - g.ret[s]) / 5.0)) << "state " << s;
  }
  EXPECT_EQ(e->Value(5), 0.0);  // untouched
}

TEST(Gae, KlInTheRewardSitsOnEveryTokenAndTheOutcomeOnTheLast) {
  // token_reward = -kl.coef x KL per token; reward = outcome 1 + their sum
  // (1 - 0.4375 = 0.5625). Per-token rewards: [-0.125, -0.25, 0.5625 - (-0.375)
  // = 0.9375] (the last token's own KL term is inside reward, not added twice).
  // Dyadic values: every step below is exact.
  const Fixture f(Keys{{"env.prompts", "8"}});
  GaeEstimator::Options o;
  o.gamma = 0.5;
  o.lambda = 0.5;
  o.lr = 1.0;
  auto e = WithValues(f, {0.5, 0.25, 0.75, 0.5}, o);
  Batch b = TokenBatch({{0, 1, 2}, {3}}, {0.5625, 1.0});
  b.token_reward = {-0.125, -0.25, -0.0625, -0.5};  // a 1-token rollout: reward is all
  e->Compute(&b);
  // By hand: delta_2 = 0.9375 - 0.75 = 0.1875; delta_1 = -0.25 + 0.5 * 0.75 - 0.25
  // = -0.125; delta_0 = -0.125 + 0.5 * 0.25 - 0.5 = -0.5; gamma lambda = 0.25:
  // A = [-0.5 + 0.25 (-0.078125), -0.125 + 0.25 * 0.1875, 0.1875] and for the
  // one-token rollout A = 1.0 - 0.5 = 0.5.
  const std::vector<double> raw = {-0.51953125, -0.078125, 0.1875, 0.5};
  EXPECT_EQ(Gae({-0.125, -0.25, 0.9375, 1.0}, {0.5, 0.25, 0.75, 0.5}, {0, 3, 4}, 0.5, 0.5).adv,
            raw);
  ExpectSameBits(b.token_advantage, Whitened(raw), "token_advantage");
  // Returns A + V = [-0.01953125, 0.171875, 0.9375, 1.0]; V_s <- V_s - (V_s - ret_s) / 4.
  const std::vector<double> ret = {-0.01953125, 0.171875, 0.9375, 1.0};
  const std::vector<double> v = {0.5, 0.25, 0.75, 0.5};
  for (int s = 0; s < 4; ++s) EXPECT_EQ(e->Value(s), v[s] - (v[s] - ret[s]) / 4.0) << s;
}

TEST(Gae, ZeroTokenRewardsEqualNone) {
  const Fixture f(Keys{{"env.prompts", "8"}});
  GaeEstimator::Options o;
  o.gamma = 0.9;
  o.lambda = 0.7;
  auto x = WithValues(f, {0.1, 0.3, 0.6}, o);
  auto y = WithValues(f, {0.1, 0.3, 0.6}, o);
  Batch bx = TokenBatch({{0, 1, 2}, {2, 1}}, {0.7, 0.2});
  Batch by = bx;
  by.token_reward.assign(5, 0.0);
  x->Compute(&bx);
  y->Compute(&by);
  ExpectSameBits(bx.token_advantage, by.token_advantage, "token_advantage");
  ExpectSameBits(x->params(), y->params(), "critic");
}

TEST(Gae, EmptyRolloutCarriesNothing) {
  const Fixture f(Keys{{"env.prompts", "8"}});
  auto x = WithValues(f, {0.1, 0.3}, {});
  auto y = WithValues(f, {0.1, 0.3}, {});
  Batch a = TokenBatch({{0, 1}, {}, {1}}, {1.0, 1.0, 0.0});
  Batch b = TokenBatch({{0, 1}, {1}}, {1.0, 0.0});
  x->Compute(&a);
  y->Compute(&b);
  ASSERT_EQ(a.advantage.size(), 3u);
  EXPECT_EQ(a.advantage[1], 0.0);
  EXPECT_EQ(a.advantage[0], b.advantage[0]);
  EXPECT_EQ(a.advantage[2], b.advantage[1]);
  ExpectSameBits(a.token_advantage, b.token_advantage, "token_advantage");
}

TEST(Gae, AllCorrectGroupsAreNotZero) {
  // A fresh critic (V = 0) on a batch with an all-correct and an all-wrong group:
  // A = R - 0 whitened, so +-1 (almost exactly), not 0.
  const Fixture f(Keys{{"env.prompts", "8"}});
  auto e = f.Make();
  Batch b = test_util::MakeGroupBatch({{1, 1}, {0, 0}});
  e->Compute(&b);
  EXPECT_GT(b.advantage[0], 0.8);
  EXPECT_LT(b.advantage[2], -0.8);
}

// ---- the critic learns the success probabilities ------------------------------------

// Mean |V(p) - p(p)| over the prompts after `steps` batches from the fixed policy.
double CriticError(const Fixture& f, GaeEstimator* e, int steps, int g) {
  for (int step = 0; step < steps; ++step) {
    Batch b = f.Sample(step, g);
    e->Compute(&b);
  }
  double err = 0.0;
  for (int32_t p = 0; p < f.task->num_prompts(); ++p) {
    err += std::abs(e->Value(f.task->FirstState(p)) -
                    f.task->SuccessProbability(f.policy.get(), p));
  }
  return err / f.task->num_prompts();
}

TEST(GaeCritic, TabularConvergesToTheSuccessProbabilities) {
  const Fixture f(Keys{{"env.prompts", "16"}, {"estimator.critic_lr", "1"}});
  auto e = f.Make();
  EXPECT_EQ(e->options().critic, CriticKind::kTabular);  // auto, tabular policy
  // The prompts span success rates from ~0.8 down to ~0.0 (choice's prior).
  const double p0 = f.task->SuccessProbability(f.policy.get(), 0);
  const double p15 = f.task->SuccessProbability(f.policy.get(), 15);
  EXPECT_GT(p0 - p15, 0.5);
  // lr 1 with 16 groups of 32: each state moves 1/16 of the way per step, so
  // V(s) averages ~30 groups of 32: std <= sqrt(0.25 / 960) = 0.016.
  const double err = CriticError(f, e.get(), 400, 32);
  EXPECT_LT(err, 0.02);  // measured 0.006
  for (int32_t p = 0; p < 16; ++p) {
    EXPECT_NEAR(e->Value(p), f.task->SuccessProbability(f.policy.get(), p), 0.06) << p;
  }
}

TEST(GaeCritic, DefaultTabularRateTracksChoiceWithinAFewHundredSteps) {
  // The default batch shape on a 1024-prompt pool: 64 prompts x 8 drawn per step.
  const Fixture f(Keys{});
  auto e = f.Make();
  EXPECT_EQ(e->lr(), GaeEstimator::kDefaultTabularLr);
  const Philox rng(5);
  std::vector<int32_t> prompts(64);
  for (int step = 0; step < 300; ++step) {
    f.task->Advance(step);
    f.task->DrawPrompts(step, rng, 64, prompts.data());
    Batch b;
    b.Clear();
    f.task->Rollout(step, rng, f.policy.get(), prompts.data(), 64, 8, &b);
    e->Compute(&b);
  }
  double err = 0.0;
  for (int32_t p = 0; p < f.task->num_prompts(); ++p) {
    err += std::abs(e->Value(p) - f.task->SuccessProbability(f.policy.get(), p));
  }
  // Measured 0.025 (0.141 for V = 0); the header's choice of the default.
  EXPECT_LT(err / f.task->num_prompts(), 0.035);
}

TEST(GaeCritic, MlpConvergesToTheSuccessProbabilities) {
  // choice's features are the one-hot prompt id: the MLP can fit every prompt,
  // but its shared output layer couples them.
  const Fixture f(Keys{{"env.prompts", "16"}, {"estimator.critic", "mlp"}});
  auto e = f.Make();
  EXPECT_EQ(e->options().critic, CriticKind::kMlp);
  EXPECT_EQ(e->lr(), GaeEstimator::kDefaultMlpLr);
  EXPECT_EQ(e->Value(3), 0.0);  // the output layer starts at 0
  const double err = CriticError(f, e.get(), 600, 32);
  // Measured: 0.006 mean, 0.02 at worst (600 steps).
  EXPECT_LT(err, 0.015);
  for (int32_t p = 0; p < 16; ++p) {
    EXPECT_NEAR(e->Value(p), f.task->SuccessProbability(f.policy.get(), p), 0.05) << p;
  }
}

TEST(GaeCritic, AutoFollowsThePolicyKind) {
  const Fixture f(Keys{{"env.prompts", "8"}, {"policy.kind", "mlp"}, {"policy.hidden", "8"}});
  auto e = f.Make();
  EXPECT_EQ(e->options().critic, CriticKind::kMlp);
  // [W_1 8 x 8 | b_1 8 | w_out 8 | b_out 1]
  EXPECT_EQ(e->params().size(), 8u * 8u + 8u + 8u + 1u);
  const Fixture g(Keys{{"env.prompts", "8"}, {"policy.kind", "mlp"}, {"estimator.critic", "tabular"}});
  EXPECT_EQ(g.Make()->options().critic, CriticKind::kTabular);
}

// ---- Clone, determinism -----------------------------------------------------------

void CheckClone(const Fixture& f) {
  auto original = f.Make();
  for (int step = 0; step < 3; ++step) {
    Batch b = f.Sample(step, 4);
    original->Compute(&b);
  }
  std::unique_ptr<Estimator> clone = original->Clone();
  ASSERT_NE(clone, nullptr);
  // The clone's Compute leaves the original's critic alone.
  const std::vector<double> before = original->params();
  {
    Batch b = f.Sample(3, 4);
    auto probe = original->Clone();
    probe->Compute(&b);
  }
  ExpectSameBits(original->params(), before, "original after a clone's Compute");
  // And the clone continues exactly as the original does.
  for (int step = 3; step < 6; ++step) {
    Batch a = f.Sample(step, 4), c = f.Sample(step, 4);
    original->Compute(&a);
    clone->Compute(&c);
    ExpectSameBits(a.token_advantage, c.token_advantage, "step " + std::to_string(step));
    ExpectSameBits(a.advantage, c.advantage, "step " + std::to_string(step));
  }
  ExpectSameBits(original->params(), static_cast<GaeEstimator&>(*clone).params(), "critic");
}

TEST(Gae, CloneContinuesIdenticallyTabular) { CheckClone(Fixture(Keys{{"env.prompts", "16"}})); }

TEST(Gae, CloneContinuesIdenticallyMlp) {
  CheckClone(Fixture(Keys{{"env.prompts", "16"}, {"estimator.critic", "mlp"}}));
}

TEST(Gae, SameInputsSameBits) {
  for (const char* critic : {"tabular", "mlp", "mlp+relu"}) {
    for (const char* env : {"choice", "chain", "think"}) {
      const bool relu = std::string(critic) == "mlp+relu";
      const Fixture f(Keys{{"estimator.critic", relu ? "mlp" : critic},
                           {"policy.activation", relu ? "relu" : "tanh"},
                           {"env.name", env},
                           {"env.prompts", "32"},
                           {"estimator.gae_gamma", "0.97"},
                           {"estimator.gae_lambda", "0.9"}});
      auto x = f.Make(), y = f.Make();
      for (int step = 0; step < 4; ++step) {
        Batch a = f.Sample(step, 4), b = f.Sample(step, 4);
        x->Compute(&a);
        y->Compute(&b);
        const std::string what = std::string(critic) + " " + env + " step " + std::to_string(step);
        ExpectSameBits(a.token_advantage, b.token_advantage, what);
        for (double v : a.token_advantage) EXPECT_TRUE(std::isfinite(v)) << what;
      }
      ExpectSameBits(x->params(), y->params(), std::string(critic) + " " + env);
    }
  }
}

TEST(Gae, ComputeIsAllocationFreeWhenWarm) {
  for (const char* critic : {"tabular", "mlp"}) {
    for (const char* env : {"choice", "think"}) {
      const Fixture f(Keys{{"estimator.critic", critic}, {"env.name", env}, {"env.prompts", "32"}});
      auto e = f.Make();
      Batch b = f.Sample(0, 8);
      e->Compute(&b);
      e->Compute(&b);
      Batch next = f.Sample(1, 8);  // the loop reuses its batch: same capacity
      b.reward = next.reward;
      g_allocations.store(0);
      g_count_allocations.store(true);
      e->Compute(&b);
      g_count_allocations.store(false);
      EXPECT_EQ(g_allocations.load(), 0) << critic << " " << env;
    }
  }
}

TEST(Gae, MlpInitIsGlorotFromItsOwnPurposeTag) {
  const Fixture f(Keys{{"env.prompts", "8"}, {"estimator.critic", "mlp"}, {"policy.hidden", "4"},
                   {"seed", "9"}});
  auto e = f.Make();
  const std::vector<double>& w = e->params();
  const double a = std::sqrt(6.0 / (8 + 4));
  for (int p = 0; p < 8 * 4; ++p) {
    const Words4 words = Philox(9).Draw(Purpose::kCriticInit, static_cast<uint32_t>(p / 4), 0, 0);
    EXPECT_EQ(w[p], a * (2.0 * U01(words.w[p % 4]) - 1.0)) << p;
    EXPECT_LT(std::abs(w[p]), a);
  }
  for (size_t p = 8 * 4; p < w.size(); ++p) EXPECT_EQ(w[p], 0.0) << p;
  // The policy's init stream (kInit) is a different one.
  EXPECT_NE(w[0], a * (2.0 * U01(Philox(9).Draw(Purpose::kInit, 0, 0, 0).w[0]) - 1.0));
}

// ---- unbound: the values from the batch (`advlab advantage --values`) --------------

TEST(GaeUnbound, ReproducesSection2_1FromTheBatchValues) {
  const std::vector<double> want = Whitened(Gae({0, 0, 1}, {0.5, 0.6, 0.7}, {0, 3}, 1.0, 1.0).adv);
  // Bound without a task (as `advlab advantage` binds) and never bound: the same.
  for (const bool bind : {true, false}) {
    GaeEstimator e;
    if (bind) e.Bind(EstimatorContext{});
    Batch b = test_util::MakeGroupBatch({{1.0}}, {{3}});
    b.value = {0.5, 0.6, 0.7};
    e.Compute(&b);
    ExpectSameBits(b.token_advantage, want, "token_advantage");
    ASSERT_EQ(b.advantage.size(), 1u);
    EXPECT_EQ(std::bit_cast<uint64_t>(b.advantage[0]), std::bit_cast<uint64_t>(want[0]));
    EXPECT_NEAR(b.advantage[0], 0.9999995150003652, 1e-15);
    EXPECT_EQ(b.value, (std::vector<double>{0.5, 0.6, 0.7}));  // read, not written
    EXPECT_FALSE(e.has_critic());
    EXPECT_TRUE(e.params().empty());  // no critic to update
  }
}

TEST(GaeUnbound, ReproducesSection12_7WithTheOptionsOrTheKeys) {
  const std::vector<double> want = {1.1136148790, 0.5609161768, -0.0185499673, -0.0952723643,
                                    -1.5607087008};
  GaeEstimator::Options o;
  o.gamma = 0.99;
  o.lambda = 0.95;
  GaeEstimator from_options(o);
  from_options.Bind(EstimatorContext{});
  const Config config =
      Config::Resolve({{"estimator.gae_gamma", "0.99"}, {"estimator.gae_lambda", "0.95"}});
  GaeEstimator from_keys;
  from_keys.Bind(EstimatorContext{&config, nullptr, nullptr, 0.0, 0.0});
  EXPECT_EQ(from_keys.options().gamma, 0.99);
  EXPECT_EQ(from_keys.options().lambda, 0.95);
  for (GaeEstimator* e : {&from_options, &from_keys}) {
    Batch b = TokenBatch({{0, 1, 2}, {3, 4}}, {1.0, 0.5});
    b.value = {0.5, 0.6, 0.7, 0.2, 0.4};
    e->Compute(&b);
    ExpectNear(b.token_advantage, want, 1e-9, "token_advantage");
    EXPECT_EQ(b.advantage, (std::vector<double>{b.token_advantage[0], b.token_advantage[3]}));
  }
  // The defaults, as `advlab advantage` runs it: gamma = lambda = 1.
  GaeEstimator plain;
  plain.Bind(EstimatorContext{});
  EXPECT_EQ(plain.options().gamma, 1.0);
  EXPECT_EQ(plain.options().lambda, 1.0);
}

// The unbound path is the training path with the critic's values handed in: on a
// real task's batches, with KL in the reward, the same bits as the bound
// estimator whose critic holds those values, and no state of its own.
TEST(GaeUnbound, MatchesTheBoundEstimatorBitForBitAndLearnsNothing) {
  for (const char* critic : {"tabular", "mlp"}) {
    for (const char* env : {"choice", "chain", "think"}) {
      const std::string what = std::string(critic) + " " + env;
      const Fixture f(Keys{{"estimator.critic", critic},
                           {"env.name", env},
                           {"env.prompts", "32"},
                           {"estimator.gae_gamma", "0.97"},
                           {"estimator.gae_lambda", "0.9"}});
      auto bound = f.Make();
      GaeEstimator::Options o;
      o.gamma = 0.97;
      o.lambda = 0.9;
      GaeEstimator unbound(o);
      unbound.Bind(EstimatorContext{});
      for (int step = 0; step < 4; ++step) {  // the critic moves between steps
        Batch a = f.Sample(step, 4);
        a.token_reward.resize(static_cast<size_t>(a.num_tokens()));
        for (int t = 0; t < a.num_tokens(); ++t) a.token_reward[t] = -0.01 * (t % 3);
        for (int r = 0; r < a.num_rollouts(); ++r) {
          for (int t = a.token_begin[r]; t < a.token_begin[r + 1]; ++t) {
            a.reward[r] += a.token_reward[t];  // reward holds the KL sum (kl.where = reward)
          }
        }
        Batch b = a;
        b.value.resize(static_cast<size_t>(b.num_tokens()));
        for (int t = 0; t < b.num_tokens(); ++t) b.value[t] = bound->Value(b.state[t]);
        const std::vector<double> critic_before = bound->params();
        bound->Compute(&a);
        unbound.Compute(&b);
        const std::string at = what + " step " + std::to_string(step);
        ExpectSameBits(b.token_advantage, a.token_advantage, at);
        ExpectSameBits(b.advantage, a.advantage, at);
        EXPECT_NE(bound->params(), critic_before) << at << ": the bound critic steps";
        // Unbound, a second Compute on the same batch gives the same bits.
        Batch again = b;
        unbound.Compute(&again);
        ExpectSameBits(again.token_advantage, b.token_advantage, at + " again");
      }
      EXPECT_TRUE(unbound.params().empty()) << what;
    }
  }
}

TEST(GaeUnbound, ComputeIsAllocationFreeWhenWarm) {
  GaeEstimator e;
  e.Bind(EstimatorContext{});
  Batch b = test_util::MakeGroupBatch({{1, 0, 1}, {0, 1}}, {{3, 1, 2}, {4, 2}});
  b.value.assign(static_cast<size_t>(b.num_tokens()), 0.25);
  e.Compute(&b);
  e.Compute(&b);
  for (size_t t = 0; t < b.value.size(); ++t) b.value[t] = 0.1 * static_cast<double>(t);
  g_allocations.store(0);
  g_count_allocations.store(true);
  e.Compute(&b);
  g_count_allocations.store(false);
  EXPECT_EQ(g_allocations.load(), 0);
}

// ---- bad input ------------------------------------------------------------------

// `choice` with its feature vectors hidden.
class FeaturelessTask : public Task {
 public:
  explicit FeaturelessTask(std::unique_ptr<Task> inner) : inner_(std::move(inner)) {}
  int32_t num_prompts() const override { return inner_->num_prompts(); }
  int32_t num_states() const override { return inner_->num_states(); }
  int32_t num_actions() const override { return inner_->num_actions(); }
  int32_t max_length() const override { return inner_->max_length(); }
  double difficulty(int32_t p) const override { return inner_->difficulty(p); }
  void InitialLogits(int32_t s, double* out) const override { inner_->InitialLogits(s, out); }
  int32_t feature_dim() const override { return 0; }
  void Features(int32_t, double*) const override {}
  void Advance(int64_t step) override { inner_->Advance(step); }
  void DrawPrompts(int64_t step, const Philox& rng, int count, int32_t* out) const override {
    inner_->DrawPrompts(step, rng, count, out);
  }
  void TrainingDistribution(std::vector<int32_t>* p, std::vector<double>* w) const override {
    inner_->TrainingDistribution(p, w);
  }
  void Rollout(int64_t step, const Philox& rng, Policy* policy, const int32_t* prompts, int count,
               int group_size, Batch* batch) const override {
    inner_->Rollout(step, rng, policy, prompts, count, group_size, batch);
  }
  const std::vector<int32_t>& eval_prompts() const override { return inner_->eval_prompts(); }
  double SuccessProbability(Policy* policy, int32_t p) const override {
    return inner_->SuccessProbability(policy, p);
  }
  void SuccessGradientTerms(Policy* policy, int32_t p, double weight,
                            GradientTerms* out) const override {
    inner_->SuccessGradientTerms(policy, p, weight, out);
  }
  int32_t FirstState(int32_t p) const override { return inner_->FirstState(p); }

 private:
  std::unique_ptr<Task> inner_;
};

TEST(GaeErrors, MlpCriticOnAFeaturelessTask) {
  const Fixture f(Keys{{"env.prompts", "8"}, {"estimator.critic", "mlp"}});
  FeaturelessTask task(TaskRegistry::Get().Find("choice")->make(f.config, 3));
  GaeEstimator e;
  try {
    e.Bind(EstimatorContext{&f.config, &task, f.policy.get(), 0.0, 0.0});
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("estimator.critic"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // The tabular critic needs no features.
  const Fixture g(Keys{{"env.prompts", "8"}, {"estimator.critic", "tabular"}});
  GaeEstimator ok;
  ok.Bind(EstimatorContext{&g.config, &task, g.policy.get(), 0.0, 0.0});
  Batch b = test_util::MakeGroupBatch({{1, 0}});
  ok.Compute(&b);
  EXPECT_EQ(b.advantage.size(), 2u);
}

TEST(GaeErrors, RatesOutsideTheirRangeAreRefusedByTheKeys) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"estimator.gae_gamma", "1.5"},
           {"estimator.gae_gamma", "-0.1"},
           {"estimator.gae_lambda", "2"},
           {"estimator.critic_lr", "-1"},
           {"estimator.critic", "linear"}}) {
    try {
      Config::Resolve({{key, value}});
      ADD_FAILURE() << key << "=" << value << ": no UserError";
    } catch (const UserError& err) {
      EXPECT_NE(std::string(err.what()).find(key), std::string::npos) << err.what();
    }
  }
  // The bounds themselves are allowed.
  EXPECT_NO_THROW(Config::Resolve({{"estimator.gae_gamma", "0"}, {"estimator.gae_lambda", "1"}}));
}

// The step does not throw: planning refuses a batch it cannot whiten
// (BareBatchRefusal for `advlab advantage`, RunConfig for training).
TEST(GaeErrors, FewerThanTwoTokensAreRefusedWhenPlanning) {
  const EstimatorSpec spec = ParseEstimatorName("gae");
  EXPECT_TRUE(spec.base->whitens_tokens);
  Batch b = test_util::MakeGroupBatch({{1.0}});
  b.value = {0.5};
  EXPECT_EQ(BareBatchRefusal(spec, b, FixedSampler{}),
            "gae: the batch has a single valid token; whitening needs at least 2");
  Batch two = test_util::MakeGroupBatch({{1.0}}, {{2}});
  two.value = {0.5, 0.5};
  EXPECT_EQ(BareBatchRefusal(spec, two, FixedSampler{}), "");
  EXPECT_THROW(RunConfig::FromConfig(Config::Resolve({{"estimator.name", "gae"},
                                                      {"train.batch_prompts", "1"},
                                                      {"train.group_size", "1"}})),
               UserError);
  EXPECT_NO_THROW(RunConfig::FromConfig(Config::Resolve({{"estimator.name", "gae"},
                                                         {"train.batch_prompts", "2"},
                                                         {"train.group_size", "1"}})));
}

// DAPO can leave a step with no informative group: an empty batch has nothing
// to whiten or learn from, and the step leaves the critic alone.
TEST(Gae, EmptyBatchIsLeftAlone) {
  const Fixture f(Keys{{"env.prompts", "8"}});
  auto e = f.Make();
  Batch b = test_util::MakeGroupBatch({});
  e->Compute(&b);
  EXPECT_TRUE(b.advantage.empty());
  EXPECT_TRUE(b.token_advantage.empty());
  EXPECT_EQ(e->Value(0), 0.0);  // the critic did not move
}

TEST(GaeErrors, UnboundNeedsOneValuePerTokenWhenPlanning) {
  const EstimatorSpec spec = ParseEstimatorName("gae");
  for (const std::vector<double>& values :
       {std::vector<double>{}, std::vector<double>{0.5, 0.6}, std::vector<double>{0, 0, 0, 0}}) {
    Batch b = test_util::MakeGroupBatch({{1.0, 0.0}}, {{2, 1}});
    b.value.assign(values.begin(), values.end());
    EXPECT_EQ(BareBatchRefusal(spec, b, FixedSampler{}),
              "estimator 'gae' on bare rewards (no task, so no critic) needs the critic's value "
              "of every token: " + std::to_string(values.size()) +
                  " given for 3 tokens; give `advlab advantage --values FILE`");
  }
  Batch ok = test_util::MakeGroupBatch({{1.0, 0.0}}, {{2, 1}});
  ok.value = {0.1, 0.2, 0.3};
  EXPECT_EQ(BareBatchRefusal(spec, ok, FixedSampler{}), "");
}

// Bound, the critic gives the values: values in the batch are a programming error
// (the loop never sets them), checked rather than silently ignored.
TEST(GaeDeathTest, BoundComputeRefusesBatchValues) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Fixture f(Keys{{"env.prompts", "8"}});
  auto e = f.Make();
  Batch b = test_util::MakeGroupBatch({{1.0, 0.0}});
  b.value = {0.5, 0.5};
  EXPECT_DEATH(e->Compute(&b), "b.value.empty");
}

TEST(Gae, IsRegisteredAsANonGroupEstimatorThatNeedsValues) {
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find("gae");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->needs_task);  // runs in `advlab advantage`, with --values
  EXPECT_TRUE(entry->needs_values);
  EXPECT_FALSE(entry->needs_greedy);
  EXPECT_FALSE(entry->needs_groups);
  EXPECT_NE(entry->make(), nullptr);
}

}  // namespace
}  // namespace advlab
