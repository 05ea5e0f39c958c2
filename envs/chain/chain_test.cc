#include "envs/chain/chain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "envs/chain/chain_oracle.h"
#include "envs/chain/chain_step.h"
#include "policies/mlp.h"
#include "policies/tabular.h"
#include "sim/batch.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/policy_rows.h"
#include "sim/sampling.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

// Pseudo-random logits in [-2, 2): a policy far from the prior.
void Randomise(TabularPolicy* policy, uint64_t seed) {
  const Philox rng(seed);
  double* z = policy->params();
  for (int64_t i = 0; i < policy->num_params(); ++i) {
    z[i] = 4.0 * U01(rng.Draw(Purpose::kInit, static_cast<uint32_t>(i), 0, 0).w[0]) - 2.0;
  }
  policy->ParamsChanged();
}

// Calls visit(tokens) for each of the m^n responses of length n (base-m codes).
template <class Visit>
void ForEachResponse(int m, int n, Visit visit) {
  int64_t total = 1;
  for (int t = 0; t < n; ++t) total *= m;
  std::vector<int> tok(n);
  for (int64_t code = 0; code < total; ++code) {
    int64_t c = code;
    for (int t = 0; t < n; ++t) {
      tok[t] = static_cast<int>(c % m);
      c /= m;
    }
    visit(tok);
  }
}

// Success probability by enumerating all m^n responses.
double BruteForce(const ChainTask& task, TabularPolicy* policy, int32_t prompt) {
  const int m = task.modulus();
  const int n = task.depth(prompt);
  std::vector<int32_t> correct(n);
  task.CorrectResults(prompt, correct.data());
  double sum = 0.0;
  ForEachResponse(m, n, [&](const std::vector<int>& tok) {
    double prob = 1.0;
    int prev = task.start(prompt);
    bool all = true;
    for (int t = 0; t < n; ++t) {
      prob *= policy->Probs(task.op(prompt, t) * m + prev)[tok[t]];
      all = all && tok[t] == correct[t];
      prev = tok[t];
    }
    const bool ok =
        task.reward_mode() == ChainTask::Reward::kAllSteps ? all : tok[n - 1] == correct[n - 1];
    if (ok) sum += prob;
  });
  return sum;
}

TEST(ChainTest, DepthOneIsAChoiceTask) {
  ChainTask task(Cfg({{"env.prompts", "20"},
                      {"env.modulus", "7"},
                      {"env.ops", "3"},
                      {"env.chain_min_depth", "1"},
                      {"env.chain_max_depth", "1"},
                      {"env.step_logit", "1.5"}}),
                 4);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  const double expect = std::exp(1.5) / (std::exp(1.5) + 6.0);
  for (int32_t p = 0; p < 20; ++p) {
    int32_t c;
    task.CorrectResults(p, &c);
    EXPECT_EQ(c, task.Apply(task.op(p, 0), task.start(p)));
    EXPECT_EQ(task.difficulty(p), 0.0);
    EXPECT_EQ(task.SuccessProbability(&policy, p), policy.Probs(task.FirstState(p))[c]);
    EXPECT_NEAR(task.SuccessProbability(&policy, p), expect, 1e-15);
  }
  Randomise(&policy, 8);
  for (int32_t p = 0; p < 20; ++p) {
    int32_t c;
    task.CorrectResults(p, &c);
    EXPECT_EQ(task.SuccessProbability(&policy, p), policy.Probs(task.FirstState(p))[c]);
  }
}

TEST(ChainTest, DynamicProgrammingMatchesEnumeration) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (const char* depth : {"2", "4"}) {
      ChainTask task(Cfg({{"env.prompts", "6"},
                          {"env.modulus", "3"},
                          {"env.ops", "2"},
                          {"env.chain_min_depth", depth},
                          {"env.chain_max_depth", depth},
                          {"env.chain_reward", mode},
                          {"env.step_logit", "1"}}),
                     9);
      TabularPolicy policy = TabularPolicy::FromTask(task);
      for (int32_t p = 0; p < 6 + 256; p += (p < 6 ? 1 : 50)) {
        EXPECT_NEAR(task.SuccessProbability(&policy, p), BruteForce(task, &policy, p), 1e-15)
            << mode << " prompt " << p;
      }
      Randomise(&policy, 21);
      for (int32_t p = 0; p < 6; ++p) {
        EXPECT_NEAR(task.SuccessProbability(&policy, p), BruteForce(task, &policy, p), 1e-15)
            << mode << " random policy, prompt " << p;
      }
    }
  }
}

TEST(ChainTest, PriorAllStepsIsTheProductAlongTheCorrectPath) {
  ChainTask task(Cfg({{"env.prompts", "8"}, {"env.chain_reward", "all_steps"}}), 2);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  const double step = std::exp(2.0) / (std::exp(2.0) + 9.0);
  for (int32_t p = 0; p < 8; ++p) {
    EXPECT_NEAR(task.SuccessProbability(&policy, p), std::pow(step, task.depth(p)), 1e-14);
  }
}

TEST(ChainTest, ExactGradientMatchesFiniteDifferences) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (const char* m : {"3", "4"}) {
      ChainTask task(Cfg({{"env.prompts", "6"},
                          {"env.modulus", m},
                          {"env.ops", "2"},
                          {"env.chain_min_depth", "1"},
                          {"env.chain_max_depth", "3"},
                          {"env.chain_reward", mode}}),
                     5);
      TabularPolicy policy = TabularPolicy::FromTask(task);
      Randomise(&policy, 77);
      for (int32_t p : {0, 3, 5}) {
        GradientTerms terms;
        terms.Clear();
        const double weight = 0.75;
        task.SuccessGradientTerms(&policy, p, weight, &terms);
        SparseGrad grad;
        grad.Init(policy.num_params(), policy.grad_block_size());
        policy.AccumulateGrad(terms.batch, terms.coef.data(), &grad);
        const double h = 1e-6;
        double* z = policy.params();
        for (int64_t i = 0; i < policy.num_params(); ++i) {
          const double z0 = z[i];
          z[i] = z0 + h;
          policy.ParamsChanged();
          const double up = task.SuccessProbability(&policy, p);
          z[i] = z0 - h;
          policy.ParamsChanged();
          const double down = task.SuccessProbability(&policy, p);
          z[i] = z0;
          policy.ParamsChanged();
          EXPECT_NEAR(grad.value[i], weight * (up - down) / (2 * h), 1e-7)
              << mode << " m=" << m << " prompt " << p << " param " << i;
        }
      }
    }
  }
}

// Each prompt is checked at 4.4 sd to keep the family-wise error below 1e-3.
TEST(ChainTest, OracleMatchesMonteCarlo) {
  for (const char* mode : {"outcome", "all_steps"}) {
    ChainTask task(
        Cfg({{"env.prompts", "64"}, {"env.chain_reward", mode}, {"env.step_logit", "2.5"}}), 13);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    Randomise(&policy, 3);
    // Mix the prior back in so success rates are not tiny.
    TabularPolicy prior = TabularPolicy::FromTask(task);
    for (int64_t i = 0; i < policy.num_params(); ++i) {
      policy.params()[i] = 0.5 * policy.params()[i] + prior.params()[i];
    }
    policy.ParamsChanged();
    const int G = 4000;
    for (int32_t p : {0, 20, 40, 63, 64 + 100, 64 + 255}) {
      Batch batch;
      batch.Clear();
      task.Rollout(/*step=*/p, Philox(99), &policy, &p, 1, G, &batch);
      double hits = 0;
      for (int r = 0; r < G; ++r) hits += batch.reward[r];
      const double pe = task.SuccessProbability(&policy, p);
      const double sd = std::sqrt(pe * (1 - pe) / G);
      EXPECT_NEAR(hits / G, pe, 4.4 * sd + 1e-12) << mode << " prompt " << p;
    }
  }
}

// Moduli 10, 2 and 40 take the unrolled search (CDF stride 16 and 2) and the
// generic one (stride 64).
TEST(ChainTest, RolloutLayoutFollowsTheModelsOwnTokens) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (const char* modulus : {"10", "2", "40"}) {
      ChainTask task(Cfg({{"env.prompts", "40"},
                          {"env.chain_reward", mode},
                          {"env.modulus", modulus},
                          {"env.step_logit", "3"}}),
                     6);
      TabularPolicy policy = TabularPolicy::FromTask(task);
      const int m = task.modulus();
      const int32_t prompts[4] = {0, 39, 17, 39};
      const int G = 5;  // not a multiple of 4: padding lanes must not leak
      const Philox rng(31);
      Batch batch;
      batch.Clear();
      task.Rollout(7, rng, &policy, prompts, 4, G, &batch);
      ASSERT_EQ(batch.num_groups(), 4);
      ASSERT_EQ(batch.num_rollouts(), 4 * G);
      int tokens = 0;
      for (int32_t p : prompts) tokens += G * task.depth(p);
      ASSERT_EQ(batch.num_tokens(), tokens);
      ASSERT_EQ(batch.token_begin[0], 0);
      ASSERT_EQ(batch.group_begin[0], 0);
      for (int g = 0; g < 4; ++g) {
        const int32_t p = prompts[g];
        const int n = task.depth(p);
        EXPECT_EQ(batch.prompt[g], p);
        EXPECT_EQ(batch.group_size(g), G);
        std::vector<int32_t> correct(n);
        task.CorrectResults(p, correct.data());
        for (int i = 0; i < G; ++i) {
          const int r = batch.group_begin[g] + i;
          ASSERT_EQ(batch.length(r), n);
          int prev = task.start(p);
          bool all = true;
          for (int t = 0; t < n; ++t) {
            const int k = batch.token_begin[r] + t;
            const int32_t state = task.op(p, t) * m + prev;
            EXPECT_EQ(batch.state[k], state);
            EXPECT_EQ(batch.logprob[k], policy.LogProbs(state)[batch.token[k]]);
            // The documented stream: word q = i n + t of block q / 4, inverse CDF.
            const int q = i * n + t;
            const double u = U01(rng.Draw(Purpose::kRollout, 7, g, q / 4).w[q % 4]);
            const double* pr = policy.Probs(state);
            double acc = 0.0;
            int a = 0;
            for (int c = 0; c < m - 1; ++c) {
              acc += pr[c];
              a += acc <= u ? 1 : 0;
            }
            EXPECT_EQ(batch.token[k], a);
            all = all && batch.token[k] == correct[t];
            prev = batch.token[k];
          }
          const bool ok = std::string(mode) == "all_steps" ? all : prev == correct[n - 1];
          EXPECT_EQ(batch.reward[r], ok ? 1.0 : 0.0);
          EXPECT_EQ(batch.correct[r], ok ? 1 : 0);
          EXPECT_EQ(batch.truncated[r], 0);
        }
      }
      // Determinism, and appending to a batch gives the concatenation.
      Batch again;
      again.Clear();
      task.Rollout(7, rng, &policy, prompts, 4, G, &again);
      EXPECT_EQ(again.token, batch.token);
      EXPECT_EQ(again.state, batch.state);
      EXPECT_EQ(again.logprob, batch.logprob);
      EXPECT_EQ(again.token_begin, batch.token_begin);
      EXPECT_EQ(again.group_begin, batch.group_begin);
      EXPECT_EQ(again.reward, batch.reward);
      EXPECT_EQ(again.correct, batch.correct);
      Batch two;
      two.Clear();
      task.Rollout(7, rng, &policy, prompts, 2, G, &two);
      task.Rollout(7, rng, &policy, prompts + 2, 2, G, &two);
      EXPECT_EQ(two.token_begin, batch.token_begin);
      EXPECT_EQ(two.group_begin, batch.group_begin);
      EXPECT_EQ(two.state.size(), batch.state.size());
      // The second call numbers its slots from 0 again, so only its first half
      // (the same slots and prompts) must agree token for token.
      const int split = batch.token_begin[2 * G];
      for (int k = 0; k < split; ++k) EXPECT_EQ(two.token[k], batch.token[k]);
    }
  }
}

TEST(ChainTest, PoolAndHeldOutSetAreOrderedByDepth) {
  ChainTask task(Cfg({{"env.prompts", "100"},
                      {"env.eval_prompts", "30"},
                      {"env.chain_min_depth", "2"},
                      {"env.chain_max_depth", "6"}}),
                 1);
  EXPECT_EQ(task.num_prompts(), 100);
  EXPECT_EQ(task.max_length(), 6);
  EXPECT_EQ(task.num_states(), 80);
  EXPECT_EQ(task.num_actions(), 10);
  ASSERT_EQ(task.eval_prompts().size(), 30u);
  for (int e = 0; e < 30; ++e) EXPECT_EQ(task.eval_prompts()[e], 100 + e);
  for (int32_t lo : {0, 100}) {
    const int32_t hi = lo == 0 ? 100 : 130;
    EXPECT_EQ(task.depth(lo), 2);
    EXPECT_EQ(task.depth(hi - 1), 6);
    for (int32_t p = lo; p < hi; ++p) {
      if (p > lo) {
        EXPECT_LE(task.depth(p - 1), task.depth(p));
      }
      EXPECT_EQ(task.difficulty(p), (task.depth(p) - 2) / 4.0);
      EXPECT_GE(task.difficulty(p), 0.0);
      EXPECT_LE(task.difficulty(p), 1.0);
      EXPECT_EQ(task.FirstState(p), task.op(p, 0) * 10 + task.start(p));
    }
  }
  // Depth p: 2 + floor(p * 5 / 100), so each depth holds 20 training prompts.
  EXPECT_EQ(task.depth(19), 2);
  EXPECT_EQ(task.depth(20), 3);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  for (int32_t p = 100; p < 130; ++p) {
    const double s = task.SuccessProbability(&policy, p);
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 1.0);
    GradientTerms terms;
    terms.Clear();
    task.SuccessGradientTerms(&policy, p, 1.0, &terms);
    EXPECT_FALSE(terms.coef.empty());
  }
  // Drift draws training prompts only.
  int32_t drawn[64];
  task.DrawPrompts(0, Philox(2), 64, drawn);
  for (int32_t p : drawn) EXPECT_LT(p, 100);
}

TEST(ChainTest, PriorAndFeatures) {
  ChainTask task(Cfg({{"env.prompts", "4"}, {"env.ops", "3"}, {"env.modulus", "5"}}), 3);
  std::vector<double> z(5), f(8);
  for (int32_t st = 0; st < 15; ++st) {
    task.InitialLogits(st, z.data());
    for (int a = 0; a < 5; ++a) EXPECT_EQ(z[a], a == task.Apply(st / 5, st % 5) ? 2.0 : 0.0);
    task.Features(st, f.data());
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(f[i], (i == st / 5 || i == 3 + st % 5) ? 1.0 : 0.0) << st << " " << i;
    }
  }
  for (int32_t j = 0; j < 3; ++j) {
    EXPECT_GE(task.op_a(j), 1);
    EXPECT_LE(task.op_a(j), 4);
    EXPECT_GE(task.op_b(j), 0);
    EXPECT_LE(task.op_b(j), 4);
  }
  EXPECT_EQ(task.feature_dim(), 8);
}

TEST(ChainTest, RulesAreRedrawnAtTheDocumentedTimes) {
  const Config c = Cfg({{"env.prompts", "16"}, {"env.answer_rate", "0.1"}});
  ChainTask task(c, 5);
  const ChainTask fresh(c, 5);
  const int O = task.num_ops(), m = task.modulus();
  std::vector<uint32_t> prev(O, 0);
  std::vector<int64_t> last_change(O, -1);
  std::vector<std::vector<int32_t>> table_at_57;
  bool any_b_changed = false;
  for (int64_t step = 0; step <= 100; ++step) {
    task.Advance(step);
    for (int j = 0; j < O; ++j) {
      EXPECT_EQ(task.op_a(j), fresh.op_a(j));  // a_j never changes
      for (int v = 0; v < m; ++v) {
        EXPECT_EQ(task.Apply(j, v), (task.op_a(j) * v + task.op_b(j)) % m);
      }
      if (step == 0) {
        EXPECT_EQ(task.op_version(j), 0u);
        EXPECT_EQ(task.op_b(j), fresh.op_b(j));
      } else if (task.op_version(j) != prev[j]) {
        // One redraw per T = 10 steps, at a fixed phase.
        EXPECT_EQ(task.op_version(j), prev[j] + 1);
        if (last_change[j] >= 0) {
          EXPECT_EQ(step - last_change[j], 10);
        }
        EXPECT_LE(step, 10 * static_cast<int64_t>(task.op_version(j)));
        last_change[j] = step;
      }
      any_b_changed = any_b_changed || task.op_b(j) != fresh.op_b(j);
      prev[j] = task.op_version(j);
    }
    if (step == 57) {
      for (int j = 0; j < O; ++j) table_at_57.push_back({task.op_b(j), int(task.op_version(j))});
    }
  }
  for (int j = 0; j < O; ++j) {
    EXPECT_GE(last_change[j], 91);  // 10 versions in 101 steps
    EXPECT_EQ(task.op_version(j), 10u);
  }
  EXPECT_TRUE(any_b_changed);
  // A pure function of the step: back to 57, or straight to 57 from a new task.
  ChainTask direct(c, 5);
  direct.Advance(57);
  task.Advance(57);
  for (int j = 0; j < O; ++j) {
    EXPECT_EQ(task.op_b(j), table_at_57[j][0]);
    EXPECT_EQ(direct.op_b(j), table_at_57[j][0]);
    EXPECT_EQ(static_cast<int>(direct.op_version(j)), table_at_57[j][1]);
    for (int v = 0; v < m; ++v) EXPECT_EQ(direct.Apply(j, v), task.Apply(j, v));
  }
  // The prior keeps the version-0 rules.
  std::vector<double> z0(m), z1(m);
  for (int32_t st = 0; st < task.num_states(); ++st) {
    task.InitialLogits(st, z0.data());
    fresh.InitialLogits(st, z1.data());
    EXPECT_EQ(z0, z1);
  }
}

TEST(ChainTest, RulesAreFixedAtRateZero) {
  ChainTask task(Cfg({{"env.prompts", "16"}}), 5);
  const ChainTask fresh(Cfg({{"env.prompts", "16"}}), 5);
  for (int64_t step : {1, 10, 999, 123456}) {
    task.Advance(step);
    for (int j = 0; j < task.num_ops(); ++j) {
      EXPECT_EQ(task.op_version(j), 0u);
      for (int v = 0; v < task.modulus(); ++v) EXPECT_EQ(task.Apply(j, v), fresh.Apply(j, v));
    }
  }
}

TEST(ChainTest, BadInputNamesTheKeys) {
  try {
    ChainTask task(Cfg({{"env.chain_min_depth", "5"}, {"env.chain_max_depth", "3"}}), 0);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("env.chain_min_depth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("env.chain_max_depth"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  auto error_of = [](const std::string& key, const std::string& value) {
    try {
      Cfg({{key, value}});
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("env.modulus", "1").find("env.modulus"), std::string::npos);
  EXPECT_NE(error_of("env.chain_min_depth", "0").find("env.chain_min_depth"), std::string::npos);
  EXPECT_NE(error_of("env.chain_max_depth", "0").find("env.chain_max_depth"), std::string::npos);
  EXPECT_NE(error_of("env.ops", "0").find("env.ops"), std::string::npos);
  EXPECT_NE(error_of("env.chain_reward", "final").find("env.chain_reward"), std::string::npos);
}

TEST(ChainTest, IsRegistered) {
  const TaskEntry* entry = TaskRegistry::Get().Find("chain");
  ASSERT_NE(entry, nullptr);
  auto task = entry->make(Cfg({{"env.prompts", "8"}}), 1);
  EXPECT_EQ(task->num_states(), 80);
  EXPECT_EQ(task->eval_prompts().size(), 256u);
}

// ---- greedy decoding --------------------------------------------------------------

// The reward of a response under the task's mode and current rules.
double RewardOf(const ChainTask& task, int32_t prompt, const std::vector<int>& tok) {
  const int n = task.depth(prompt);
  std::vector<int32_t> correct(n);
  task.CorrectResults(prompt, correct.data());
  bool all = true;
  for (int t = 0; t < n; ++t) all = all && tok[t] == correct[t];
  const bool ok =
      task.reward_mode() == ChainTask::Reward::kAllSteps ? all : tok[n - 1] == correct[n - 1];
  return ok ? 1.0 : 0.0;
}

// Greedy by brute force: among all m^n responses, the one whose every token is
// the most probable value at its state, the lowest on ties. Exactly one exists;
// returns its reward.
double BruteForceGreedy(const ChainTask& task, TabularPolicy* policy, int32_t prompt) {
  const int m = task.modulus();
  const int n = task.depth(prompt);
  int found = 0;
  double reward = -1.0;
  ForEachResponse(m, n, [&](const std::vector<int>& tok) {
    bool greedy = true;
    int prev = task.start(prompt);
    for (int t = 0; t < n && greedy; ++t) {
      const double* pi = policy->Probs(task.op(prompt, t) * m + prev);
      for (int k = 0; k < m; ++k) {
        if (pi[k] > pi[tok[t]] || (k < tok[t] && pi[k] == pi[tok[t]])) greedy = false;
      }
      prev = tok[t];
    }
    if (!greedy) return;
    ++found;
    reward = RewardOf(task, prompt, tok);
  });
  EXPECT_EQ(found, 1) << "prompt " << prompt;
  return reward;
}

TEST(ChainTest, GreedyMatchesEnumeration) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (uint64_t seed : {1, 2, 3}) {
      ChainTask task(Cfg({{"env.prompts", "8"},
                          {"env.eval_prompts", "8"},
                          {"env.ops", "4"},
                          {"env.modulus", "3"},
                          {"env.chain_max_depth", "5"},
                          {"env.chain_reward", mode}}),
                     seed);
      TabularPolicy policy = TabularPolicy::FromTask(task);
      Randomise(&policy, seed + 10);
      double hits = 0.0;
      for (int32_t p = 0; p < 16; ++p) {  // training and held-out prompts
        int32_t length = -1;
        const double r = task.GreedyReward(&policy, p, &length);
        EXPECT_EQ(r, BruteForceGreedy(task, &policy, p)) << mode << " seed " << seed << " " << p;
        EXPECT_EQ(length, task.depth(p));
        hits += r;
      }
      // Random logits: greedy is sometimes right on 3 values, rarely always.
      EXPECT_LT(hits, 16.0) << mode << " seed " << seed;
    }
  }
}

// Hand-built: the prior's greedy path is the correct one (every prompt scores 1);
// a flat policy ties everywhere and answers 0 at every step.
TEST(ChainTest, GreedyFollowsThePriorAndTiesGoToZero) {
  for (const char* mode : {"outcome", "all_steps"}) {
    ChainTask task(Cfg({{"env.prompts", "60"}, {"env.modulus", "4"}, {"env.chain_reward", mode}}),
                   4);
    TabularPolicy prior = TabularPolicy::FromTask(task);
    TabularPolicy flat(task.num_states(), task.num_actions());  // all logits 0
    const bool all_steps = std::string(mode) == "all_steps";
    int zeros = 0;
    for (int32_t p = 0; p < 60; ++p) {
      int32_t length = -1;
      EXPECT_EQ(task.GreedyReward(&prior, p, &length), 1.0) << mode << " prompt " << p;
      EXPECT_EQ(length, task.depth(p));
      std::vector<int32_t> correct(task.depth(p));
      task.CorrectResults(p, correct.data());
      bool all_zero = true;
      for (int32_t v : correct) all_zero = all_zero && v == 0;
      const bool ok = all_steps ? all_zero : correct.back() == 0;
      EXPECT_EQ(task.GreedyReward(&flat, p, &length), ok ? 1.0 : 0.0) << mode << " prompt " << p;
      zeros += correct.back() == 0;
    }
    if (!all_steps) {
      EXPECT_GT(zeros, 0);  // the tie rule was seen to score
    }
  }
}

// Hand-built depth-2 responses: a wrong first step then the right result scores
// under outcome only; a right first step then a wrong result scores under neither.
TEST(ChainTest, GreedyIsScoredWithTheRewardMode) {
  auto make = [](const char* mode) {
    return ChainTask(Cfg({{"env.prompts", "8"},
                          {"env.ops", "3"},
                          {"env.modulus", "5"},
                          {"env.chain_min_depth", "2"},
                          {"env.chain_max_depth", "2"},
                          {"env.chain_reward", mode}}),
                     6);
  };
  ChainTask outcome = make("outcome"), all_steps = make("all_steps");
  const int m = 5;
  int checked = 0;
  for (int32_t p = 0; p < 8; ++p) {
    int32_t correct[2];
    outcome.CorrectResults(p, correct);
    const int32_t s0 = outcome.op(p, 0) * m + outcome.start(p);
    for (const bool first_right : {false, true}) {
      const int32_t t0 = first_right ? correct[0] : (correct[0] + 1) % m;
      const int32_t t1 = first_right ? (correct[1] + 1) % m : correct[1];
      const int32_t s1 = outcome.op(p, 1) * m + t0;
      if (s1 == s0) continue;  // one shared row cannot hold both choices
      TabularPolicy policy(outcome.num_states(), m);
      policy.params()[static_cast<int64_t>(s0) * m + t0] = 1.0;
      policy.params()[static_cast<int64_t>(s1) * m + t1] = 1.0;
      policy.ParamsChanged();
      int32_t length = -1;
      EXPECT_EQ(outcome.GreedyReward(&policy, p, &length), first_right ? 0.0 : 1.0) << p;
      EXPECT_EQ(length, 2);
      EXPECT_EQ(all_steps.GreedyReward(&policy, p, &length), 0.0) << p;
      ++checked;
    }
  }
  EXPECT_GT(checked, 8);
}

// Greedy is scored under the current rules: the prior follows the version-0
// path, which after every rule is redrawn (step 10 at rate 0.1) scores only
// where the redraws left the prompt's results unchanged.
TEST(ChainTest, GreedyRewardFollowsTheCurrentRules) {
  for (const char* mode : {"outcome", "all_steps"}) {
    ChainTask task(
        Cfg({{"env.prompts", "40"}, {"env.answer_rate", "0.1"}, {"env.chain_reward", mode}}), 7);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    std::vector<std::vector<int>> path0(40);
    for (int32_t p = 0; p < 40; ++p) {
      std::vector<int32_t> c(task.depth(p));
      task.CorrectResults(p, c.data());
      path0[p].assign(c.begin(), c.end());
    }
    task.Advance(10);
    int lost = 0;
    for (int32_t p = 0; p < 40; ++p) {
      int32_t length = -1;
      const double want = RewardOf(task, p, path0[p]);
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), want) << mode << " prompt " << p;
      lost += want == 0.0;
    }
    EXPECT_GT(lost, 10) << mode;
  }
}

// ---- plain-data step functions (envs/chain/chain_step.h) ---------------------------

// Caller-owned rollout scratch for `count` groups of G at most.
struct StepScratch {
  StepScratch(const ChainTask& task, int count, int G)
      : stamp(task.num_states(), 0),
        slot(task.num_states(), 0),
        cdf(static_cast<size_t>(task.num_states()) * PaddedSize(task.modulus())),
        logp(task.num_states()),
        u(static_cast<size_t>((G + 3) / 4 * 4) * task.max_length()),
        correct(task.max_length()) {
    (void)count;
    sc.stamp = stamp.data();
    sc.slot = slot.data();
    sc.cdf = cdf.data();
    sc.logp = logp.data();
    sc.u = u.data();
    sc.correct = correct.data();
    sc.max_slots = task.num_states();
    sc.u_capacity = static_cast<int64_t>(u.size());
  }
  std::vector<uint32_t> stamp;
  std::vector<int32_t> slot;
  std::vector<double> cdf;
  std::vector<const double*> logp;
  std::vector<double> u;
  std::vector<int32_t> correct;
  ChainRolloutScratch sc;
};

// The HD rollout, called directly with a rows type, into a fresh batch.
template <class Rows>
Batch DirectRollout(const ChainTask& task, Rows& rows, int64_t step, const Philox& rng,
                    const std::vector<int32_t>& prompts, int G) {
  StepScratch scratch(task, static_cast<int>(prompts.size()), G);
  int tokens = 0;
  for (int32_t p : prompts) tokens += G * task.depth(p);
  Batch batch;
  batch.Clear();
  const int count = static_cast<int>(prompts.size());
  BatchView view = batch.OpenView(count, count * G, tokens);
  ChainRollout(task.model(), task.data(), rows, rng, step, prompts.data(), count, G, scratch.sc,
               view);
  batch.CloseView(view);
  return batch;
}

void ExpectSameBatch(const Batch& a, const Batch& b, const std::string& what) {
  EXPECT_EQ(a.prompt, ToVector(b.prompt)) << what;
  EXPECT_EQ(a.group_begin, ToVector(b.group_begin)) << what;
  EXPECT_EQ(a.token_begin, ToVector(b.token_begin)) << what;
  EXPECT_EQ(a.reward, ToVector(b.reward)) << what;
  EXPECT_EQ(a.correct, ToVector(b.correct)) << what;
  EXPECT_EQ(a.truncated, ToVector(b.truncated)) << what;
  EXPECT_EQ(a.token, ToVector(b.token)) << what;
  EXPECT_EQ(a.state, ToVector(b.state)) << what;
  EXPECT_EQ(a.logprob, ToVector(b.logprob)) << what;  // bit for bit (operator== on doubles)
}

Config StepCfg(const char* mode, const char* modulus, const char* rate) {
  return Cfg({{"env.prompts", "40"},
              {"env.chain_reward", mode},
              {"env.modulus", modulus},
              {"env.chain_min_depth", "2"},
              {"env.chain_max_depth", "6"},
              {"env.answer_rate", rate},
              {"env.step_logit", "3"}});
}

TEST(ChainStepTest, RolloutTabularRowsEqualsVirtualRowsBitForBit) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (const char* rate : {"0", "0.1"}) {
      for (const char* modulus : {"10", "2", "40"}) {
        ChainTask task(StepCfg(mode, modulus, rate), 6);
        task.Advance(37);
        TabularPolicy policy = TabularPolicy::FromTask(task);
        Randomise(&policy, 12);
        const std::vector<int32_t> prompts = {0, 39, 17, 39, 40 + 200};
        const int G = 7;  // not a multiple of 4
        const Philox rng(31);
        const std::string what = std::string(mode) + " rate " + rate + " m " + modulus;
        // Tabular rows, all stale: the step function recomputes them.
        TabularRows& rows = *policy.tabular_rows();
        const Batch tabular = DirectRollout(task, rows, 37, rng, prompts, G);
        VirtualRows virt{&policy};
        const Batch virtual_rows = DirectRollout(task, virt, 37, rng, prompts, G);
        ExpectSameBatch(tabular, virtual_rows, what);
        // The adaptor (Task::Rollout) gives the same batch.
        Batch adaptor;
        adaptor.Clear();
        task.Rollout(37, rng, &policy, prompts.data(), static_cast<int>(prompts.size()), G,
                     &adaptor);
        ExpectSameBatch(tabular, adaptor, what);
        // A fresh policy (stale rows) through the adaptor: the same bits again.
        TabularPolicy again = TabularPolicy::FromTask(task);
        Randomise(&again, 12);
        Batch fresh;
        fresh.Clear();
        task.Rollout(37, rng, &again, prompts.data(), static_cast<int>(prompts.size()), G, &fresh);
        ExpectSameBatch(tabular, fresh, what);
      }
    }
  }
}

// Gradient terms into plain vectors.
struct VectorSink {
  std::vector<int32_t> state, action;
  std::vector<double> coef;
  void Add(int32_t s, int32_t a, double c) {
    state.push_back(s);
    action.push_back(a);
    coef.push_back(c);
  }
};

TEST(ChainStepTest, OracleGradientAndGreedyEqualTheAdaptor) {
  for (const char* mode : {"outcome", "all_steps"}) {
    for (const char* rate : {"0", "0.1"}) {
      ChainTask task(StepCfg(mode, "5", rate), 8);
      task.Advance(23);
      TabularPolicy policy = TabularPolicy::FromTask(task);
      Randomise(&policy, 4);
      const int m = task.modulus();
      const int64_t nm = static_cast<int64_t>(task.max_length()) * m;
      std::vector<double> mu(nm), back(nm);
      std::vector<int32_t> correct(task.max_length());
      const ChainOracleScratch sc{mu.data(), back.data(), correct.data()};
      TabularRows& rows = *policy.tabular_rows();
      VirtualRows virt{&policy};
      for (int32_t p = 0; p < 40 + 256; p += 7) {
        const double expect = task.SuccessProbability(&policy, p);
        EXPECT_EQ(ChainSuccessProbability(task.model(), task.data(), rows, p, sc), expect);
        EXPECT_EQ(ChainSuccessProbability(task.model(), task.data(), virt, p, sc), expect);
        GradientTerms terms;
        terms.Clear();
        task.SuccessGradientTerms(&policy, p, 0.625, &terms);
        VectorSink sink;
        ChainSuccessGradientTerms(task.model(), task.data(), rows, p, 0.625, sc, sink);
        EXPECT_EQ(sink.state, ToVector(terms.batch.state)) << p;
        EXPECT_EQ(sink.action, ToVector(terms.batch.token)) << p;
        EXPECT_EQ(sink.coef, terms.coef) << p;
        EXPECT_FALSE(sink.coef.empty());
        int32_t len = 0, len_hd = 0;
        const double greedy = task.GreedyReward(&policy, p, &len);
        EXPECT_EQ(ChainGreedyReward(task.model(), task.data(), rows, p, &len_hd), greedy);
        EXPECT_EQ(len_hd, len);
        std::vector<int32_t> c1(task.depth(p)), c2(task.depth(p));
        task.CorrectResults(p, c1.data());
        ChainCorrectResults(task.model(), task.data(), p, c2.data());
        EXPECT_EQ(c1, c2);
      }
    }
  }
}

TEST(ChainStepTest, ChainAdvanceOnCallerDataMatchesTheTask) {
  ChainTask task(Cfg({{"env.prompts", "16"}, {"env.ops", "11"}, {"env.answer_rate", "0.07"}}), 3);
  const ChainModel& model = task.model();
  const int O = task.num_ops(), m = task.modulus();
  std::vector<int32_t> b(O), next(static_cast<size_t>(O) * m);
  std::vector<uint32_t> version(O);
  ChainData data{b.data(), version.data(), next.data()};
  for (int j = 0; j < O; ++j) ChainSetRule(model, data, j, 0);
  // Forward one step at a time, then jumps back and forth.
  std::vector<int64_t> steps;
  for (int64_t s = 0; s <= 400; ++s) steps.push_back(s);
  for (int64_t s : {3, 1000, 999, 0, 77, 12345}) steps.push_back(s);
  for (int64_t step : steps) {
    task.Advance(step);
    ChainAdvance(model, data, step);
    for (int j = 0; j < O; ++j) {
      ASSERT_EQ(data.b[j], task.op_b(j)) << step;
      ASSERT_EQ(data.version[j], task.op_version(j)) << step;
      ASSERT_EQ(data.version[j], ChainRuleVersion(model, j, step)) << step;
      for (int v = 0; v < m; ++v) ASSERT_EQ(data.next[j * m + v], task.Apply(j, v)) << step;
    }
  }
}

TEST(ChainStepTest, ModelTablesLiveInOneArena) {
  ChainTask task(StepCfg("outcome", "10", "0.1"), 2);
  const ChainModel& model = task.model();
  EXPECT_EQ(model.num_prompts, 40);
  EXPECT_EQ(model.num_eval, 256);
  EXPECT_EQ(model.rule_period, 10);
  for (int32_t e = 0; e < model.num_eval; ++e) EXPECT_EQ(model.eval_prompts[e], 40 + e);
  // Every table is inside one block: all pointers within [lowest, lowest + span).
  const std::vector<const void*> tables = {model.rule_phase, model.a,      model.b0,
                                           model.prior_next, model.start,  model.prompt_begin,
                                           model.prompt_ops, model.eval_prompts,
                                           task.data().b,    task.data().version,
                                           task.data().next};
  const char* lo = static_cast<const char*>(tables[0]);
  const char* hi = lo;
  for (const void* t : tables) {
    ASSERT_NE(t, nullptr);
    lo = std::min(lo, static_cast<const char*>(t));
    hi = std::max(hi, static_cast<const char*>(t));
  }
  EXPECT_LT(hi - lo, 64 * 1024);
}

TEST(ChainStepTest, MlpAdaptorReachesTheSameStepCode) {
  ChainTask task(StepCfg("outcome", "10", "0.1"), 4);
  task.Advance(15);
  MlpPolicy::Options o;
  o.hidden = 12;
  o.out_init_scale = 0.5;
  o.seed = 3;
  MlpPolicy mlp(task, o);
  ASSERT_EQ(mlp.tabular_rows(), nullptr);
  const std::vector<int32_t> prompts = {3, 30, 40 + 7};
  const Philox rng(5);
  VirtualRows virt{&mlp};
  const Batch direct = DirectRollout(task, virt, 15, rng, prompts, 6);
  Batch adaptor;
  adaptor.Clear();
  task.Rollout(15, rng, &mlp, prompts.data(), 3, 6, &adaptor);
  ExpectSameBatch(direct, adaptor, "mlp");
  const int64_t nm = static_cast<int64_t>(task.max_length()) * task.modulus();
  std::vector<double> mu(nm), back(nm);
  std::vector<int32_t> correct(task.max_length());
  const ChainOracleScratch sc{mu.data(), back.data(), correct.data()};
  for (int32_t p : prompts) {
    EXPECT_EQ(ChainSuccessProbability(task.model(), task.data(), virt, p, sc),
              task.SuccessProbability(&mlp, p));
  }
}

}  // namespace
}  // namespace advlab
