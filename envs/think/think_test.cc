#include "envs/think/think.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "envs/think/think_step.h"
#include "policies/mlp.h"
#include "policies/tabular.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/loop.h"
#include "sim/policy_rows.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

// Sets every logit of `policy` to a pseudo-random value in [-scale, scale]
// (Philox, so the test is deterministic), optionally shifting THINK by `bias`.
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

// Brute force: walks every action sequence (THINK^t then an answer, or THINK^L)
// and returns (success probability, total probability).
std::pair<double, double> Enumerate(const ThinkTask& task, TabularPolicy* policy, int32_t p) {
  const int L = task.max_length();
  const int A = task.num_actions();
  double success = 0.0, total = 0.0;
  std::function<void(int, double)> walk = [&](int t, double prob) {
    if (t == L) {  // truncated
      total += prob;
      return;
    }
    const double* pi = policy->Probs(task.State(p, t));
    for (int a = 0; a < A; ++a) {
      if (a == ThinkTask::kThink) {
        walk(t + 1, prob * pi[a]);
      } else {
        total += prob * pi[a];
        if (t >= task.required(p) && a - 1 == task.answer(p)) success += prob * pi[a];
      }
    }
  };
  walk(0, 1.0);
  return {success, total};
}

TEST(ThinkTest, RequiredThinkingFollowsDifficulty) {
  ThinkTask a(Cfg({{"env.prompts", "8"}, {"env.max_required", "8"}, {"env.max_length", "9"}}), 1);
  for (int p = 0; p < 8; ++p) EXPECT_EQ(a.required(p), p + 1);  // d_p R = p + 1/2
  ThinkTask b(Cfg({{"env.prompts", "4"}, {"env.max_required", "2"}}), 1);
  const int expect[4] = {1, 1, 2, 2};  // d = 1/8, 3/8, 5/8, 7/8
  for (int p = 0; p < 4; ++p) EXPECT_EQ(b.required(p), expect[p]);
  ThinkTask c(Cfg({{"env.prompts", "1"}, {"env.max_required", "3"}}), 1);
  EXPECT_EQ(c.required(0), 2);  // d = 1/2: 1 + floor(1.5)
  EXPECT_EQ(c.num_actions(), 17);
  EXPECT_EQ(c.num_states(), 16);
  EXPECT_EQ(c.max_length(), 16);
  EXPECT_EQ(c.feature_dim(), 16 + 1 + 16);
}

TEST(ThinkTest, PriorAndFeaturesAreDocumented) {
  ThinkTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "5"}, {"env.max_length", "6"},
                      {"env.max_required", "4"}, {"env.think_logit", "0.5"},
                      {"env.answer_logit", "3"}}),
                 7);
  std::vector<double> z(task.num_actions()), f(task.feature_dim());
  for (int p = 0; p < 4; ++p) {
    for (int t = 0; t < 6; ++t) {
      const int32_t s = task.State(p, t);
      task.InitialLogits(s, z.data());
      EXPECT_EQ(z[0], 0.5);
      for (int k = 0; k < 5; ++k) {
        const bool known = k == task.answer(p) && t >= task.required(p);
        EXPECT_EQ(z[1 + k], known ? 3.0 : 0.0) << p << " " << t << " " << k;
      }
      task.Features(s, f.data());
      for (int i = 0; i < 6; ++i) EXPECT_EQ(f[i], i == t ? 1.0 : 0.0);
      EXPECT_EQ(f[6], task.difficulty(p));
      for (int k = 0; k < 5; ++k) EXPECT_EQ(f[7 + k], k == task.answer(p) ? 1.0 : 0.0);
    }
    EXPECT_EQ(task.FirstState(p), p * 6);
  }
  EXPECT_EQ(task.eval_prompts().size(), 4u);
}

// L = 4, R = 2, K = 3 with a set policy: the oracle equals the enumeration of all
// action sequences and a hand-written closed form.
TEST(ThinkTest, SuccessProbabilityEqualsEnumeration) {
  ThinkTask task(Cfg({{"env.prompts", "2"}, {"env.answers", "3"}, {"env.max_length", "4"},
                      {"env.max_required", "2"}, {"env.think_logit", "0"}}),
                 5);
  ASSERT_EQ(task.required(0), 1);  // d = 1/4
  ASSERT_EQ(task.required(1), 2);  // d = 3/4
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 17, 1.5, 0.5);
  for (int p = 0; p < 2; ++p) {
    const auto [success, total] = Enumerate(task, &policy, p);
    EXPECT_NEAR(total, 1.0, 1e-14);
    EXPECT_NEAR(task.SuccessProbability(&policy, p), success, 1e-15);
    // Closed form: sum_{t >= r} (prod_{j<t} pi(THINK | j)) pi(answer | t).
    const int a = 1 + task.answer(p);
    auto pi = [&](int t, int act) { return policy.Probs(task.State(p, t))[act]; };
    double hand = 0.0;
    if (task.required(p) <= 1) hand += pi(0, 0) * pi(1, a);
    hand += pi(0, 0) * pi(1, 0) * pi(2, a);
    hand += pi(0, 0) * pi(1, 0) * pi(2, 0) * pi(3, a);
    EXPECT_NEAR(task.SuccessProbability(&policy, p), hand, 1e-15);
  }
  // The prior: thinking is needed before the answer logit appears.
  TabularPolicy prior = TabularPolicy::FromTask(task);
  const double e2 = std::exp(2.0);
  const double think_lo = 1.0 / 4.0;         // t < r: THINK and 3 answers at logit 0
  const double think_hi = 1.0 / (3.0 + e2);  // t >= r: one answer at logit 2
  const double ans_hi = e2 / (3.0 + e2);
  const double p1 = think_lo * think_lo * (ans_hi + think_hi * ans_hi);  // r = 2
  EXPECT_NEAR(task.SuccessProbability(&prior, 1), p1, 1e-14);
}

// Exact gradient vs central finite differences of the oracle, for every
// parameter (those of other prompts must get exactly zero).
TEST(ThinkTest, GradientTermsMatchFiniteDifferences) {
  ThinkTask task(Cfg({{"env.prompts", "3"}, {"env.answers", "3"}, {"env.max_length", "5"},
                      {"env.max_required", "3"}}),
                 2);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 23, 1.0, 1.0);
  const double weight = 0.7;
  const double h = 1e-6;
  for (int p = 0; p < 3; ++p) {
    GradientTerms terms;
    terms.Clear();
    task.SuccessGradientTerms(&policy, p, weight, &terms);
    ASSERT_GT(terms.coef.size(), 0u);
    SparseGrad grad;
    grad.Init(policy.num_params(), policy.grad_block_size());
    policy.AccumulateGrad(terms.batch, terms.coef.data(), &grad);
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
      const double fd = weight * (up - down) / (2 * h);
      EXPECT_NEAR(grad.value[i], fd, 1e-7) << "prompt " << p << " param " << i;
      if (i / (task.max_length() * task.num_actions()) != p) {
        EXPECT_EQ(grad.value[i], 0.0);
      }
    }
  }
}

// Exact moments of the response length: P(len = t + 1) = reach_t pi(answer-any | t)
// for t < L - 1 plus truncation at L.
struct LengthMoments {
  double mean = 0.0, second = 0.0, truncation = 0.0;
};
LengthMoments ExactLength(const ThinkTask& task, TabularPolicy* policy, int32_t p) {
  LengthMoments m;
  double reach = 1.0;
  const int L = task.max_length();
  for (int t = 0; t < L; ++t) {
    const double stop = reach * (1.0 - policy->Probs(task.State(p, t))[0]);
    m.mean += stop * (t + 1);
    m.second += stop * (t + 1) * (t + 1);
    reach *= policy->Probs(task.State(p, t))[0];
  }
  m.truncation = reach;
  m.mean += reach * L;
  m.second += reach * L * L;
  return m;
}

TEST(ThinkTest, OracleMatchesMonteCarlo) {
  ThinkTask task(Cfg({{"env.prompts", "16"}, {"env.answers", "4"}, {"env.max_length", "6"},
                      {"env.max_required", "4"}}),
                 11);
  // THINK likely before r_p, THINK and the answer even after it (plus noise):
  // success, truncation and long responses all have probability >= 0.5%.
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
    double hits = 0, cut = 0, len = 0;
    for (int r = 0; r < G; ++r) {
      hits += batch.reward[r];
      cut += batch.truncated[r];
      len += batch.length(r);
    }
    const double pe = task.SuccessProbability(&policy, p);
    EXPECT_GT(pe, 0.05) << p;  // the check has teeth
    EXPECT_NEAR(hits / G, pe, 4.4 * std::sqrt(pe * (1 - pe) / G) + 1e-12) << "prompt " << p;
    const LengthMoments m = ExactLength(task, &policy, p);
    EXPECT_GT(m.truncation, 0.005) << p;
    EXPECT_NEAR(cut / G, m.truncation,
                4.4 * std::sqrt(m.truncation * (1 - m.truncation) / G) + 1e-12)
        << "prompt " << p;
    const double sd_len = std::sqrt((m.second - m.mean * m.mean) / G);
    EXPECT_NEAR(len / G, m.mean, 4.4 * sd_len) << "prompt " << p;
  }
}

// The sampler is the documented one: word q = i * L + t of the group's Philox
// stream, inverse CDF over the K + 1 actions in index order.
TEST(ThinkTest, RolloutUsesOneWordPerDecision) {
  ThinkTask task(Cfg({{"env.prompts", "6"}, {"env.answers", "5"}, {"env.max_length", "7"},
                      {"env.max_required", "3"}}),
                 4);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 3, 1.0, 1.5);
  const int32_t prompts[2] = {2, 5};
  const int G = 9;
  const int64_t step = 12;
  const Philox rng(8);
  Batch batch;
  batch.Clear();
  task.Rollout(step, rng, &policy, prompts, 2, G, &batch);
  const int L = task.max_length(), A = task.num_actions();
  for (int s = 0; s < 2; ++s) {
    for (int i = 0; i < G; ++i) {
      const int r = s * G + i;
      for (int t = 0; t < batch.length(r); ++t) {
        const int q = i * L + t;
        const double u = U01(rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                                      static_cast<uint32_t>(s), q / 4).w[q % 4]);
        const double* pi = policy.Probs(task.State(prompts[s], t));
        int a = 0;
        double acc = 0.0;
        for (int k = 0; k < A - 1; ++k) {
          acc += pi[k];
          a += acc <= u ? 1 : 0;
        }
        EXPECT_EQ(batch.token[batch.token_begin[r] + t], a) << s << " " << i << " " << t;
      }
    }
  }
}

TEST(ThinkTest, RolloutLayout) {
  ThinkTask task(Cfg({{"env.prompts", "12"}, {"env.answers", "3"}, {"env.max_length", "6"},
                      {"env.max_required", "4"}}),
                 9);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RandomizeLogits(&policy, 5, 1.0, 1.6);
  const int L = task.max_length();
  const int32_t prompts_a[3] = {1, 7, 11};
  const int32_t prompts_b[2] = {4, 4};
  const int G = 50;
  Batch batch;
  batch.Clear();
  task.Rollout(3, Philox(1), &policy, prompts_a, 3, G, &batch);
  task.Rollout(4, Philox(1), &policy, prompts_b, 2, G, &batch);  // appends
  ASSERT_EQ(batch.num_groups(), 5);
  ASSERT_EQ(batch.num_rollouts(), 5 * G);
  ASSERT_EQ(batch.token_begin.front(), 0);
  ASSERT_EQ(batch.token_begin.back(), batch.num_tokens());
  ASSERT_EQ(batch.state.size(), batch.token.size());
  ASSERT_EQ(batch.logprob.size(), batch.token.size());
  int truncated = 0, right = 0;
  for (int g = 0; g < 5; ++g) {
    const int32_t p = g < 3 ? prompts_a[g] : prompts_b[g - 3];
    EXPECT_EQ(batch.prompt[g], p);
    EXPECT_EQ(batch.group_begin[g], g * G);
    EXPECT_EQ(batch.group_size(g), G);
    for (int r = batch.group_begin[g]; r < batch.group_begin[g + 1]; ++r) {
      const int len = batch.length(r);
      ASSERT_GE(len, 1);
      ASSERT_LE(len, L);
      const int b = batch.token_begin[r];
      for (int t = 0; t < len; ++t) {
        EXPECT_EQ(batch.state[b + t], task.State(p, t));
        EXPECT_EQ(batch.logprob[b + t], policy.LogProbs(batch.state[b + t])[batch.token[b + t]]);
        if (t + 1 < len) {
          EXPECT_EQ(batch.token[b + t], ThinkTask::kThink);
        }
      }
      const int last = batch.token[b + len - 1];
      if (batch.truncated[r]) {
        ++truncated;
        EXPECT_EQ(len, L);
        EXPECT_EQ(last, ThinkTask::kThink);
        EXPECT_EQ(batch.reward[r], 0.0);
        EXPECT_EQ(batch.correct[r], 0);
      } else {
        EXPECT_NE(last, ThinkTask::kThink);
        const bool ok = len - 1 >= task.required(p) && last - 1 == task.answer(p);
        EXPECT_EQ(batch.reward[r], ok ? 1.0 : 0.0);
        EXPECT_EQ(batch.correct[r], ok ? 1 : 0);
        right += ok;
        // No guessing: answers before r_p thinking tokens are never rewarded.
        if (len - 1 < task.required(p)) {
          EXPECT_EQ(batch.reward[r], 0.0);
        }
      }
    }
  }
  EXPECT_GT(truncated, 0);  // every branch was exercised
  EXPECT_GT(right, 0);

  // Determinism: the same inputs give the same batch, bit for bit.
  Batch again;
  again.Clear();
  task.Rollout(3, Philox(1), &policy, prompts_a, 3, G, &again);
  task.Rollout(4, Philox(1), &policy, prompts_b, 2, G, &again);
  EXPECT_EQ(again.token, batch.token);
  EXPECT_EQ(again.state, batch.state);
  EXPECT_EQ(again.logprob, batch.logprob);
  EXPECT_EQ(again.token_begin, batch.token_begin);
  EXPECT_EQ(again.reward, batch.reward);
  EXPECT_EQ(again.truncated, batch.truncated);
  EXPECT_EQ(again.group_begin, batch.group_begin);
}

// A policy that always answers the right k at once is never rewarded on a
// prompt that needs thinking (no guessing), and its oracle says so.
TEST(ThinkTest, ImmediateCorrectAnswersAreWrong) {
  ThinkTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "3"}, {"env.max_length", "5"},
                      {"env.max_required", "3"}}),
                 6);
  TabularPolicy policy(task.num_states(), task.num_actions());
  for (int p = 0; p < 4; ++p) {
    for (int t = 0; t < 5; ++t) {
      policy.params()[task.State(p, t) * task.num_actions() + 1 + task.answer(p)] = 40.0;
    }
  }
  policy.ParamsChanged();
  for (int p = 0; p < 4; ++p) {
    ASSERT_GE(task.required(p), 1);
    EXPECT_LT(task.SuccessProbability(&policy, p), 1e-15);
    Batch batch;
    batch.Clear();
    const int32_t prompt = p;
    task.Rollout(0, Philox(2), &policy, &prompt, 1, 64, &batch);
    for (int r = 0; r < 64; ++r) {
      EXPECT_EQ(batch.length(r), 1);
      EXPECT_EQ(batch.token[r], 1 + task.answer(p));
      EXPECT_EQ(batch.reward[r], 0.0);
    }
  }
}

TEST(ThinkTest, AnswerVersionsChangeTheCorrectAnswer) {
  ThinkTask task(Cfg({{"env.prompts", "32"}, {"env.answers", "8"}, {"env.answer_rate", "0.5"}}),
                 3);
  std::vector<int32_t> first(32);
  for (int p = 0; p < 32; ++p) first[p] = task.answer(p);
  task.Advance(8);  // every prompt has been redrawn (period 2) at least once
  int changed = 0;
  for (int p = 0; p < 32; ++p) changed += task.answer(p) != first[p];
  EXPECT_GT(changed, 16);  // 7/8 expected to differ
}

// Response length is learned: as the training window drifts from easy to hard
// prompts (r_p from 1 to 8), the mean length of the training responses grows.
// The prior must explore (THINK logit 2, K = 4: pi(THINK) = 0.65 before r_p),
// else a tabular policy never sees a reward on prompts needing r_p >= 3. Measured
// (seeds 0-9, lr 20): first window 2.635-2.676, last 5.300-5.412.
TEST(ThinkTest, LearnedLengthGrowsUnderUpwardDrift) {
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve(
      {{"env.name", "think"}, {"env.prompts", "64"}, {"env.answers", "4"},
       {"env.think_logit", "2"}, {"env.drift", "linear"}, {"train.steps", "600"},
       {"train.eval_every", "50"}, {"estimator.name", "grpo"}, {"optim.lr", "20"}}));
  const RunRecord rec = TrainRun(rc);
  const std::vector<std::string>& names = MetricNames();
  const size_t m = std::find(names.begin(), names.end(), "response_length") - names.begin();
  ASSERT_LT(m, names.size());
  const size_t E = rc.EvalSteps().size();
  ASSERT_EQ(E, 13u);
  EXPECT_TRUE(std::isnan(rec.values[m * E + 0]));  // no training window at step 0
  const double first = rec.values[m * E + 1];      // steps 0-49
  const double last = rec.values[m * E + E - 1];   // steps 550-599
  EXPECT_GT(first, 1.5);  // thinking from the start (prior)
  EXPECT_LT(first, 3.0);
  EXPECT_GT(last, 4.5);
  EXPECT_GT(last - first, 2.0);
}

TEST(ThinkTest, BadParametersAreRefused) {
  try {
    ThinkTask task(Cfg({{"env.max_length", "8"}, {"env.max_required", "8"}}), 0);
    FAIL() << "L = R was accepted";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("env.max_length"), std::string::npos) << m;
    EXPECT_NE(m.find("env.max_required"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_THROW(ThinkTask(Cfg({{"env.max_length", "3"}, {"env.max_required", "5"}}), 0),
               UserError);
  EXPECT_NO_THROW(ThinkTask(Cfg({{"env.max_length", "9"}, {"env.max_required", "8"}}), 0));
  EXPECT_THROW(Cfg({{"env.max_length", "1"}}), UserError);
  EXPECT_THROW(Cfg({{"env.max_required", "0"}}), UserError);
  // Through the registry, as a run builds it.
  const TaskEntry* entry = TaskRegistry::Get().Find("think");
  ASSERT_NE(entry, nullptr);
  EXPECT_THROW(
      entry->make(Cfg({{"env.name", "think"}, {"env.max_length", "4"}, {"env.max_required", "6"}}),
                  0),
      UserError);
}

// ---- greedy decoding --------------------------------------------------------------

// Greedy by brute force: among the L + 1 action paths x K answers (THINK^t then
// an answer, or THINK^L), the one whose every action is the most probable at its
// state, the lowest id on ties. Exactly one exists; returns (reward, length).
std::pair<double, int32_t> BruteForceGreedy(const ThinkTask& task, TabularPolicy* policy,
                                            int32_t p) {
  const int L = task.max_length();
  const int A = task.num_actions();
  auto is_greedy = [&](int t, int a) {
    const double* pi = policy->Probs(task.State(p, t));
    for (int k = 0; k < A; ++k) {
      if (pi[k] > pi[a] || (k < a && pi[k] == pi[a])) return false;
    }
    return true;
  };
  int found = 0;
  std::pair<double, int32_t> result{-1.0, -1};
  for (int t = 0; t <= L; ++t) {  // t thinking tokens first
    bool prefix = true;
    for (int j = 0; j < t && j < L; ++j) prefix = prefix && is_greedy(j, ThinkTask::kThink);
    if (!prefix) continue;
    if (t == L) {  // truncated
      ++found;
      result = {0.0, L};
      continue;
    }
    for (int a = 1; a < A; ++a) {
      if (!is_greedy(t, a)) continue;
      ++found;
      result = {t >= task.required(p) && a - 1 == task.answer(p) ? 1.0 : 0.0, t + 1};
    }
  }
  EXPECT_EQ(found, 1) << "prompt " << p;
  return result;
}

void SetRow(TabularPolicy* policy, int32_t state, const std::vector<double>& z) {
  for (size_t a = 0; a < z.size(); ++a) {
    policy->params()[static_cast<int64_t>(state) * policy->num_actions() + a] = z[a];
  }
  policy->ParamsChanged();
}

TEST(ThinkTest, GreedyMatchesEnumeration) {
  ThinkTask task(Cfg({{"env.prompts", "6"}, {"env.answers", "3"}, {"env.max_length", "5"},
                      {"env.max_required", "3"}}),
                 4);
  TabularPolicy policy(task.num_states(), task.num_actions());
  int lengths[6] = {0, 0, 0, 0, 0, 0};
  double hits = 0.0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    // THINK biased up, so that greedy responses of every length occur.
    RandomizeLogits(&policy, seed, 2.0, 0.5 * static_cast<double>(seed % 5));
    for (int32_t p = 0; p < 6; ++p) {
      int32_t length = -1;
      const double r = task.GreedyReward(&policy, p, &length);
      const std::pair<double, int32_t> want = BruteForceGreedy(task, &policy, p);
      EXPECT_EQ(r, want.first) << "seed " << seed << " prompt " << p;
      EXPECT_EQ(length, want.second) << "seed " << seed << " prompt " << p;
      ASSERT_GE(length, 1);
      ASSERT_LE(length, 5);
      ++lengths[length];
      hits += r;
    }
  }
  for (int l = 1; l <= 5; ++l) EXPECT_GT(lengths[l], 0) << "no greedy response of length " << l;
  EXPECT_GT(hits, 0.0);
}

// Hand-built from the prior: THINK (logit 3) beats the answer (logit 2) at every
// position, so greedy truncates everywhere (reward 0, length L); with the answer
// at logit 4 it thinks exactly r_p tokens and then answers right.
TEST(ThinkTest, GreedyUnderThePriorTruncatesOrAnswersAtTheRequiredLength) {
  const std::map<std::string, std::string> keys = {{"env.prompts", "8"}, {"env.answers", "5"}};
  ThinkTask task(Cfg(keys), 2);
  TabularPolicy prior = TabularPolicy::FromTask(task);
  std::map<std::string, std::string> eager_keys = keys;
  eager_keys["env.answer_logit"] = "4";
  ThinkTask eager(Cfg(eager_keys), 2);
  TabularPolicy eager_prior = TabularPolicy::FromTask(eager);
  for (int32_t p = 0; p < 8; ++p) {
    int32_t length = -1;
    EXPECT_EQ(task.GreedyReward(&prior, p, &length), 0.0) << p;
    EXPECT_EQ(length, task.max_length()) << p;
    EXPECT_EQ(eager.GreedyReward(&eager_prior, p, &length), 1.0) << p;
    EXPECT_EQ(length, eager.required(p) + 1) << p;
  }
}

// Hand-built responses: THINK^k then answer j. Right only when k >= r_p and j is
// the answer (no guessing); L THINK tokens truncate with reward 0.
TEST(ThinkTest, GreedyScoresLikeARollout) {
  ThinkTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "3"}, {"env.max_length", "6"},
                      {"env.max_required", "4"}}),
                 5);
  const int A = task.num_actions(), L = task.max_length();
  for (int32_t p = 0; p < 4; ++p) {
    const int32_t req = task.required(p), ans = task.answer(p);
    const int32_t wrong = (ans + 1) % 3;
    struct Case {
      int32_t think;   // THINK tokens before the answer (L: none, truncated)
      int32_t answer;  // answer k
      double reward;
      int32_t length;
    };
    const Case cases[] = {{req - 1, ans, 0.0, req}, {req, ans, 1.0, req + 1},
                          {req, wrong, 0.0, req + 1}, {L - 1, ans, 1.0, L},
                          {L, ans, 0.0, L}};
    for (const Case& c : cases) {
      TabularPolicy policy(task.num_states(), A);
      for (int32_t t = 0; t < L; ++t) {
        std::vector<double> z(A, 0.0);
        z[t < c.think ? ThinkTask::kThink : 1 + c.answer] = 1.0;
        SetRow(&policy, task.State(p, t), z);
      }
      int32_t length = -1;
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), c.reward)
          << "prompt " << p << " think " << c.think << " answer " << c.answer;
      EXPECT_EQ(length, c.length) << "prompt " << p << " think " << c.think;
    }
  }
}

// Ties go to the lowest id: THINK (0) wins a tie with any answer, so a flat
// policy truncates; past r_p the answer tied with a wrong k wins iff it has the
// lower id.
TEST(ThinkTest, GreedyTiesGoToTheLowestId) {
  ThinkTask task(Cfg({{"env.prompts", "6"}, {"env.answers", "4"}, {"env.max_length", "5"},
                      {"env.max_required", "3"}}),
                 9);
  const int A = task.num_actions(), L = task.max_length();
  TabularPolicy flat(task.num_states(), A);
  int wins = 0, losses = 0;
  for (int32_t p = 0; p < 6; ++p) {
    int32_t length = -1;
    EXPECT_EQ(task.GreedyReward(&flat, p, &length), 0.0);
    EXPECT_EQ(length, L);  // truncated
    const int32_t req = task.required(p), ans = task.answer(p);
    for (int32_t k = 0; k < 4; ++k) {
      if (k == ans) continue;
      TabularPolicy policy(task.num_states(), A);  // rows before r_p: flat, THINK wins
      std::vector<double> z(A, -1.0);
      z[1 + ans] = z[1 + k] = 2.0;
      SetRow(&policy, task.State(p, req), z);
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), ans < k ? 1.0 : 0.0)
          << "prompt " << p << " answer " << ans << " tied with " << k;
      EXPECT_EQ(length, req + 1);
      wins += ans < k ? 1 : 0;
      losses += ans > k ? 1 : 0;
    }
  }
  EXPECT_GT(wins, 0);  // both orders occurred
  EXPECT_GT(losses, 0);
}

// Greedy is scored against the current answer: the prior knows the version-0
// one, so after every answer is redrawn it scores 1 iff the redraw kept it.
TEST(ThinkTest, GreedyRewardFollowsRedrawnAnswers) {
  ThinkTask task(Cfg({{"env.prompts", "40"}, {"env.answers", "8"}, {"env.answer_rate", "0.1"},
                      {"env.answer_logit", "4"}}),
                 3);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  std::vector<int32_t> a0(40);
  for (int32_t p = 0; p < 40; ++p) a0[p] = task.answer(p);
  task.Advance(10);  // period 10: every answer redrawn once
  int lost = 0;
  for (int32_t p = 0; p < 40; ++p) {
    int32_t length = -1;
    const double want = task.answer(p) == a0[p] ? 1.0 : 0.0;
    EXPECT_EQ(task.GreedyReward(&policy, p, &length), want) << "prompt " << p;
    EXPECT_EQ(length, task.required(p) + 1);
    lost += want == 0.0;
  }
  EXPECT_GT(lost, 20);
}

// ---- plain-data step functions (think_step.h) ------------------------------------

// Scratch for calling the step functions directly (the task keeps its own).
struct TestScratch {
  std::vector<double> cdf, value;
  std::vector<const double*> logp;
  std::vector<uint8_t> ready;
  ThinkScratch view;
  explicit TestScratch(const ThinkModel& m)
      : cdf(static_cast<size_t>(m.max_length) * PaddedSize(m.num_answers + 1)),
        value(m.max_length + 1),
        logp(m.max_length),
        ready(m.max_length) {
    view = ThinkScratch{cdf.data(), logp.data(), ready.data(), value.data()};
  }
};

// ThinkRollout called directly, with `rows`, into a fresh batch.
template <class Rows>
Batch DirectRollout(const ThinkTask& task, Rows& rows, int64_t step, const Philox& rng,
                    const std::vector<int32_t>& prompts, int G) {
  TestScratch scratch(task.model());
  Batch batch;
  batch.Clear();
  const int n = static_cast<int>(prompts.size()) * G;
  BatchView view = batch.OpenView(static_cast<int>(prompts.size()), n, n * task.max_length());
  ThinkRollout(task.model(), step, task.current_step(), rng, rows, prompts.data(),
               static_cast<int32_t>(prompts.size()), G, scratch.view, &view);
  batch.CloseView(view);
  return batch;
}

void ExpectSameBatch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.group_begin, b.group_begin);
  EXPECT_EQ(a.token_begin, b.token_begin);
  EXPECT_EQ(a.reward, b.reward);
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.truncated, b.truncated);
  EXPECT_EQ(a.token, b.token);
  EXPECT_EQ(a.state, b.state);
  ASSERT_EQ(a.logprob.size(), b.logprob.size());
  for (size_t i = 0; i < a.logprob.size(); ++i) {  // bit for bit (EXPECT_EQ on doubles)
    EXPECT_EQ(a.logprob[i], b.logprob[i]) << i;
  }
}

// The HD rollout with TabularRows, the same code through VirtualRows (one
// virtual call per row) and the Task::Rollout adaptor give the same batch, bit
// for bit, with answer re-randomisation off and on.
TEST(ThinkStepTest, RolloutIsTheSameThroughEveryRowsType) {
  for (const char* rate : {"0", "0.5"}) {
    ThinkTask task(Cfg({{"env.prompts", "10"}, {"env.answers", "3"}, {"env.max_length", "6"},
                        {"env.max_required", "4"}, {"env.answer_rate", rate}}),
                   13);
    const int64_t step = 7;
    task.Advance(step);
    int redrawn = 0;
    for (int32_t p = 0; p < 10; ++p) redrawn += task.answer(p) != task.model().answer[p];
    if (std::string(rate) != "0") {
      EXPECT_GT(redrawn, 0);  // the check covers redrawn answers
    } else {
      EXPECT_EQ(redrawn, 0);
    }
    TabularPolicy policy = TabularPolicy::FromTask(task);
    RandomizeLogits(&policy, 41, 1.0, 1.4);
    const std::vector<int32_t> prompts = {0, 3, 3, 9, 6};
    const int G = 37;
    const Philox rng(77);
    TabularRows* tabular = policy.tabular_rows();
    ASSERT_NE(tabular, nullptr);
    const Batch direct = DirectRollout(task, *tabular, step, rng, prompts, G);
    policy.ParamsChanged();  // every row stale again
    VirtualRows virt{&policy};
    const Batch through_virtual = DirectRollout(task, virt, step, rng, prompts, G);
    policy.ParamsChanged();
    Batch adaptor;
    adaptor.Clear();
    task.Rollout(step, rng, &policy, prompts.data(), static_cast<int>(prompts.size()), G,
                 &adaptor);
    ExpectSameBatch(direct, through_virtual);
    ExpectSameBatch(direct, adaptor);
    double hits = 0.0, cut = 0.0;
    for (int r = 0; r < direct.num_rollouts(); ++r) {
      hits += direct.reward[r];
      cut += direct.truncated[r];
    }
    EXPECT_GT(hits, 0.0);  // every branch was taken
    EXPECT_GT(cut, 0.0);
  }
}

// The MLP goes through VirtualRows: Task::Rollout equals the HD code called
// directly with the adaptor.
TEST(ThinkStepTest, MlpRolloutThroughTheAdaptor) {
  ThinkTask task(Cfg({{"env.prompts", "6"}, {"env.answers", "3"}, {"env.max_length", "5"},
                      {"env.max_required", "3"}, {"env.answer_rate", "0.25"}}),
                 2);
  task.Advance(5);
  MlpPolicy::Options o;
  o.hidden = 8;
  o.out_init_scale = 0.5;
  o.seed = 3;
  MlpPolicy policy(task, o);
  ASSERT_EQ(policy.tabular_rows(), nullptr);
  const std::vector<int32_t> prompts = {1, 4, 5};
  VirtualRows virt{&policy};
  const Batch direct = DirectRollout(task, virt, 5, Philox(9), prompts, 16);
  Batch adaptor;
  adaptor.Clear();
  task.Rollout(5, Philox(9), &policy, prompts.data(), 3, 16, &adaptor);
  ExpectSameBatch(direct, adaptor);
}

// A sink that records the terms.
struct VectorSink {
  std::vector<int32_t> state, action;
  std::vector<double> coef;
  void Add(int32_t s, int32_t a, double c) {
    state.push_back(s);
    action.push_back(a);
    coef.push_back(c);
  }
};

// Oracle, gradient terms and greedy decoding: the HD functions with TabularRows
// and with VirtualRows equal the Task adaptors, bit for bit.
TEST(ThinkStepTest, OracleGradientAndGreedyEqualTheAdaptors) {
  for (const char* rate : {"0", "0.5"}) {
    ThinkTask task(Cfg({{"env.prompts", "8"}, {"env.answers", "4"}, {"env.max_length", "7"},
                        {"env.max_required", "5"}, {"env.answer_rate", rate}}),
                   21);
    const int64_t step = 9;
    task.Advance(step);
    TabularPolicy policy = TabularPolicy::FromTask(task);
    RandomizeLogits(&policy, 5, 2.0, 0.8);
    TestScratch scratch(task.model());
    VirtualRows virt{&policy};
    for (int32_t p = 0; p < 8; ++p) {
      const double want = task.SuccessProbability(&policy, p);
      EXPECT_GT(want, 0.0);
      EXPECT_EQ(ThinkSuccessProbability(task.model(), step, *policy.tabular_rows(), p), want);
      EXPECT_EQ(ThinkSuccessProbability(task.model(), step, virt, p), want);

      GradientTerms terms;
      terms.Clear();
      task.SuccessGradientTerms(&policy, p, 0.3, &terms);
      ASSERT_GT(terms.coef.size(), 0u);
      VectorSink tab_sink, virt_sink;
      ThinkSuccessGradient(task.model(), step, *policy.tabular_rows(), p, 0.3,
                           scratch.view.value, tab_sink);
      ThinkSuccessGradient(task.model(), step, virt, p, 0.3, scratch.view.value, virt_sink);
      EXPECT_EQ(tab_sink.state, ToVector(terms.batch.state));
      EXPECT_EQ(tab_sink.action, ToVector(terms.batch.token));
      EXPECT_EQ(tab_sink.coef, terms.coef);
      EXPECT_EQ(virt_sink.state, tab_sink.state);
      EXPECT_EQ(virt_sink.action, tab_sink.action);
      EXPECT_EQ(virt_sink.coef, tab_sink.coef);

      int32_t len_adaptor = -1, len_tab = -2, len_virt = -3;
      const double g = task.GreedyReward(&policy, p, &len_adaptor);
      EXPECT_EQ(ThinkGreedyReward(task.model(), step, *policy.tabular_rows(), p, &len_tab), g);
      EXPECT_EQ(ThinkGreedyReward(task.model(), step, virt, p, &len_virt), g);
      EXPECT_EQ(len_tab, len_adaptor);
      EXPECT_EQ(len_virt, len_adaptor);
    }
  }
}

// The model's tables are the task's: one arena, the documented values.
TEST(ThinkStepTest, ModelHoldsTheTables) {
  ThinkTask task(Cfg({{"env.prompts", "5"}, {"env.answers", "6"}, {"env.max_length", "9"},
                      {"env.max_required", "7"}, {"env.think_logit", "1.5"},
                      {"env.answer_logit", "2.5"}}),
                 4);
  const ThinkModel& m = task.model();
  EXPECT_EQ(m.num_answers, 6);
  EXPECT_EQ(m.max_length, 9);
  EXPECT_EQ(m.max_required, 7);
  EXPECT_EQ(m.think_logit, 1.5);
  EXPECT_EQ(m.answer_logit, 2.5);
  EXPECT_EQ(m.pool.num_prompts, 5);
  ASSERT_EQ(m.num_eval, 5);
  for (int32_t p = 0; p < 5; ++p) {
    EXPECT_EQ(m.required[p], task.required(p));
    EXPECT_EQ(m.answer[p], task.answer(p));  // step 0: version 0
    EXPECT_EQ(m.eval_prompts[p], task.eval_prompts()[p]);
    EXPECT_EQ(ThinkDifficulty(m, p), task.difficulty(p));
  }
}

}  // namespace
}  // namespace advlab
