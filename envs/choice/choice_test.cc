#include "envs/choice/choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "policies/tabular.h"
#include "sim/config.h"
#include "sim/dmath.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

TEST(ChoiceTest, PriorLogOddsFollowDifficulty) {
  ChoiceTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "5"}, {"env.easy_logit", "2"},
                       {"env.hard_logit", "-2"}}),
                  1);
  double z[5];
  for (int p = 0; p < 4; ++p) {
    task.InitialLogits(p, z);
    const double d = (p + 0.5) / 4;
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(z[k], k == task.answer(p) ? 2.0 * (1 - d) - 2.0 * d : 0.0);
    }
  }
}

TEST(ChoiceTest, InitialSuccessProbabilityIsTheClosedForm) {
  ChoiceTask task(Cfg({{"env.prompts", "8"}, {"env.answers", "16"}}), 3);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  for (int p = 0; p < 8; ++p) {
    const double l = 3.0 * (1 - task.difficulty(p)) - 3.0 * task.difficulty(p);
    const double expect = std::exp(l) / (std::exp(l) + 15.0);
    EXPECT_NEAR(task.SuccessProbability(&policy, p), expect, 1e-15);
  }
}

// The exact oracle agrees with Monte Carlo over the task's own sampler within a
// 99% interval (binomial, normal approximation with 2.58 sd, Bonferroni-free:
// each prompt is checked at 4.4 sd to keep the family-wise error below 1e-3).
TEST(ChoiceTest, OracleMatchesMonteCarlo) {
  ChoiceTask task(Cfg({{"env.prompts", "16"}, {"env.answers", "6"}}), 11);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  Philox rng(99);
  const int G = 4000;
  for (int p = 0; p < 16; ++p) {
    Batch batch;
    batch.Clear();
    int32_t prompt = p;
    task.Rollout(/*step=*/p, rng, &policy, &prompt, 1, G, &batch);
    double hits = 0;
    for (int r = 0; r < G; ++r) hits += batch.reward[r];
    const double pe = task.SuccessProbability(&policy, p);
    const double sd = std::sqrt(pe * (1 - pe) / G);
    EXPECT_NEAR(hits / G, pe, 4.4 * sd + 1e-12) << "prompt " << p;
    // The log-probs recorded are those of the sampled tokens.
    for (int r = 0; r < G; ++r) {
      EXPECT_EQ(batch.logprob[r], policy.LogProbs(p)[batch.token[r]]);
      EXPECT_EQ(batch.reward[r], batch.token[r] == task.answer(p) ? 1.0 : 0.0);
    }
  }
}

// Sampling follows the whole distribution, not just the success rate.
TEST(ChoiceTest, SampledAnswerFrequenciesMatchPolicy) {
  ChoiceTask task(Cfg({{"env.prompts", "1"}, {"env.answers", "4"}, {"env.easy_logit", "1"}}), 5);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  Philox rng(7);
  Batch batch;
  batch.Clear();
  int32_t prompt = 0;
  const int G = 40000;
  task.Rollout(0, rng, &policy, &prompt, 1, G, &batch);
  double counts[4] = {0, 0, 0, 0};
  for (int r = 0; r < G; ++r) counts[batch.token[r]] += 1;
  for (int k = 0; k < 4; ++k) {
    const double p = policy.Probs(0)[k];
    EXPECT_NEAR(counts[k] / G, p, 4.4 * std::sqrt(p * (1 - p) / G)) << k;
  }
}

TEST(ChoiceTest, RolloutLayoutIsOneTokenPerResponse) {
  ChoiceTask task(Cfg({{"env.prompts", "10"}}), 2);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  Batch batch;
  batch.Clear();
  int32_t prompts[3] = {1, 4, 4};
  task.Rollout(0, Philox(1), &policy, prompts, 3, 5, &batch);
  ASSERT_EQ(batch.num_groups(), 3);
  ASSERT_EQ(batch.num_rollouts(), 15);
  ASSERT_EQ(batch.num_tokens(), 15);
  for (int g = 0; g < 3; ++g) EXPECT_EQ(batch.group_size(g), 5);
  for (int r = 0; r < 15; ++r) {
    EXPECT_EQ(batch.length(r), 1);
    EXPECT_EQ(batch.state[r], prompts[r / 5]);
    EXPECT_EQ(batch.truncated[r], 0);
  }
}

TEST(ChoiceTest, DriftWindowsHaveTheDocumentedShape) {
  auto window = [](const std::string& drift, int64_t step) {
    Config c = Cfg({{"env.prompts", "100"}, {"env.drift", drift}, {"env.drift_width", "0.2"},
                    {"train.steps", "101"}, {"env.drift_stages", "5"}, {"env.drift_period", "40"}});
    return ChoiceTask(c, 0).drift().WindowStart(step);
  };
  EXPECT_EQ(window("none", 50), 0);
  // linear: start moves from 0 to P - W = 80 over steps 0..100.
  EXPECT_EQ(window("linear", 0), 0);
  EXPECT_EQ(window("linear", 50), 40);
  EXPECT_EQ(window("linear", 100), 80);
  EXPECT_EQ(window("linear", 500), 80);
  // step: 5 stages of ~20 steps: 0, 20, 40, 60, 80.
  EXPECT_EQ(window("step", 0), 0);
  EXPECT_EQ(window("step", 19), 0);
  EXPECT_EQ(window("step", 21), 20);
  EXPECT_EQ(window("step", 100), 80);
  // cyclic, period 40: 0 at t=0, 80 at t=20, back to 0 at t=40.
  EXPECT_EQ(window("cyclic", 0), 0);
  EXPECT_EQ(window("cyclic", 10), 40);
  EXPECT_EQ(window("cyclic", 20), 80);
  EXPECT_EQ(window("cyclic", 30), 40);
  EXPECT_EQ(window("cyclic", 40), 0);
  // Drawn prompts stay inside the window.
  Config c = Cfg({{"env.prompts", "100"}, {"env.drift", "linear"}, {"env.drift_width", "0.2"},
                  {"train.steps", "101"}});
  ChoiceTask task(c, 0);
  int32_t prompts[64];
  task.Advance(50);
  task.DrawPrompts(50, Philox(3), 64, prompts);
  for (int32_t p : prompts) {
    EXPECT_GE(p, 40);
    EXPECT_LT(p, 60);
  }
}

TEST(ChoiceTest, RandomWalkDriftIsABoundedReflectingWalk) {
  Config c = Cfg({{"env.prompts", "100"}, {"env.drift", "random_walk"}, {"env.drift_width", "0.2"},
                  {"env.drift_walk_step", "0.05"}, {"train.steps", "1000"}});
  ChoiceTask task(c, 9);
  std::vector<int32_t> starts;
  for (int64_t t = 0; t <= 1000; ++t) starts.push_back(task.drift().WindowStart(t));
  EXPECT_EQ(starts[0], 0);
  int moved_up = 0;
  for (size_t t = 1; t < starts.size(); ++t) {
    EXPECT_GE(starts[t], 0);
    EXPECT_LE(starts[t], 80);
    const int d = starts[t] - starts[t - 1];
    // +-5, or a reflection at an end.
    EXPECT_TRUE(d == 5 || d == -5 || (starts[t - 1] < 5 && starts[t] < 5) ||
                (starts[t - 1] > 75 && starts[t] > 75))
        << "t=" << t << " " << starts[t - 1] << " -> " << starts[t];
    moved_up += d > 0;
  }
  EXPECT_GT(moved_up, 300);  // a fair coin: ~500 of 1000
  EXPECT_LT(moved_up, 700);
  // A pure function of (config, seed, step): going back replays the same walk,
  // another task instance agrees, another seed differs.
  EXPECT_EQ(task.drift().WindowStart(400), starts[400]);
  EXPECT_EQ(ChoiceTask(c, 9).drift().WindowStart(777), starts[777]);
  int differ = 0;
  ChoiceTask other(c, 10);
  for (int64_t t = 0; t <= 1000; t += 50) differ += other.drift().WindowStart(t) != starts[t];
  EXPECT_GT(differ, 5);
}

TEST(ChoiceTest, AnswersAreRedrawnAtTheConfiguredRate) {
  Config c = Cfg({{"env.prompts", "200"}, {"env.answers", "8"}, {"env.answer_rate", "0.1"}});
  ChoiceTask task(c, 4);
  std::vector<int32_t> a0(200);
  for (int p = 0; p < 200; ++p) a0[p] = task.answer(p);
  task.Advance(5);
  int versions_changed = 0, answers_changed = 0;
  for (int p = 0; p < 200; ++p) {
    versions_changed += task.answer_version(p) != 0;
    answers_changed += task.answer(p) != a0[p];
  }
  // Period 10, phase uniform in [0, 10): a prompt has been redrawn by step 5 iff
  // its phase is >= 5, so ~Binomial(200, 1/2) (sd 7); a redraw keeps the
  // answer with probability 1/8.
  EXPECT_GT(versions_changed, 70);
  EXPECT_LT(versions_changed, 130);
  EXPECT_GT(answers_changed, versions_changed * 6 / 10);
  EXPECT_LE(answers_changed, versions_changed);
  // By step 10 every prompt has been redrawn exactly once.
  task.Advance(10);
  for (int p = 0; p < 200; ++p) EXPECT_EQ(task.answer_version(p), 1u);
  task.Advance(0);  // pure function of the step
  for (int p = 0; p < 200; ++p) EXPECT_EQ(task.answer(p), a0[p]);
  // The oracle follows the current answer.
  TabularPolicy policy = TabularPolicy::FromTask(task);
  task.Advance(10);
  int differ = 0;
  for (int p = 0; p < 10; ++p) {
    differ += task.answer(p) != a0[p];
    EXPECT_EQ(task.SuccessProbability(&policy, p), policy.Probs(p)[task.answer(p)]);
  }
  EXPECT_GT(differ, 0);
}

// Sets the logits of one tabular row (the cached distribution is dropped).
void SetRow(TabularPolicy* policy, int32_t state, const std::vector<double>& logits) {
  for (size_t k = 0; k < logits.size(); ++k) {
    policy->params()[static_cast<int64_t>(state) * policy->num_actions() + k] = logits[k];
  }
  policy->ParamsChanged();
}

// Under the prior the answer's log-odds l(d) = 3 (1 - 2d) is the only non-zero
// logit: greedy is the answer iff l > 0, i.e. on the easy half of the pool.
TEST(ChoiceTest, GreedyRewardUnderThePriorIsTheEasyHalf) {
  ChoiceTask task(Cfg({{"env.prompts", "8"}, {"env.answers", "5"}}), 3);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  for (int p = 0; p < 8; ++p) {
    int32_t length = -1;
    EXPECT_EQ(task.GreedyReward(&policy, p, &length), p < 4 ? 1.0 : 0.0) << "prompt " << p;
    EXPECT_EQ(length, 1);
  }
}

// Greedy is the most probable answer: a row with a unique maximum at k scores
// [k == answer], whatever the other logits.
TEST(ChoiceTest, GreedyRewardIsTheArgmaxAnswer) {
  ChoiceTask task(Cfg({{"env.prompts", "4"}, {"env.answers", "6"}}), 8);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  for (int p = 0; p < 4; ++p) {
    for (int k = 0; k < 6; ++k) {
      std::vector<double> z = {0.5, -1.0, 0.25, 1.0, -0.5, 0.75};
      z[k] = 2.0;
      SetRow(&policy, p, z);
      int32_t length = -1;
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), k == task.answer(p) ? 1.0 : 0.0)
          << "prompt " << p << " argmax " << k;
      EXPECT_EQ(length, 1);
    }
  }
}

// Ties go to the lowest id: the answer tied with a wrong answer k wins iff it has
// the lower id; a flat row picks answer 0.
TEST(ChoiceTest, GreedyTiesGoToTheLowestId) {
  ChoiceTask task(Cfg({{"env.prompts", "6"}, {"env.answers", "4"}}), 2);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  int wins = 0, losses = 0;
  for (int p = 0; p < 6; ++p) {
    const int32_t a = task.answer(p);
    for (int k = 0; k < 4; ++k) {
      if (k == a) continue;
      std::vector<double> z(4, -1.0);
      z[a] = z[k] = 1.5;
      SetRow(&policy, p, z);
      int32_t length = 0;
      EXPECT_EQ(task.GreedyReward(&policy, p, &length), a < k ? 1.0 : 0.0)
          << "prompt " << p << " answer " << a << " tied with " << k;
      wins += a < k ? 1 : 0;
      losses += a > k ? 1 : 0;
    }
    SetRow(&policy, p, std::vector<double>(4, 0.0));
    int32_t length = 0;
    EXPECT_EQ(task.GreedyReward(&policy, p, &length), a == 0 ? 1.0 : 0.0) << "flat row " << p;
  }
  EXPECT_GT(wins, 0);  // both orders occurred
  EXPECT_GT(losses, 0);
}

// Greedy is scored against the answer at the current step: the prior keeps the
// version-0 answer, so after a redraw it scores 1 iff the redraw kept it.
TEST(ChoiceTest, GreedyRewardFollowsRedrawnAnswers) {
  ChoiceTask task(Cfg({{"env.prompts", "40"}, {"env.answers", "8"}, {"env.answer_rate", "0.1"},
                       {"env.easy_logit", "3"}, {"env.hard_logit", "3"}}),
                  4);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  std::vector<int32_t> a0(40);
  int32_t length = 0;
  for (int p = 0; p < 40; ++p) {
    a0[p] = task.answer(p);
    EXPECT_EQ(task.GreedyReward(&policy, p, &length), 1.0);
  }
  task.Advance(10);  // every answer redrawn once
  int lost = 0;
  for (int p = 0; p < 40; ++p) {
    const double want = task.answer(p) == a0[p] ? 1.0 : 0.0;
    EXPECT_EQ(task.GreedyReward(&policy, p, &length), want) << "prompt " << p;
    lost += want == 0.0;
  }
  EXPECT_GT(lost, 20);  // a redraw keeps the answer with probability 1/8
}

}  // namespace
}  // namespace advlab
