// Loop-level behaviour: gradient clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "sim/loop.h"

namespace advlab {
namespace {

std::string Exact(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}

// Norm of the SGD update of one step, and the raw gradient norm it came from.
std::pair<double, double> UpdateNorm(const std::string& max_norm) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "32"},
                                                        {"optim.lr", "2"},
                                                        {"optim.max_grad_norm", max_norm}}));
  RunState st;
  InitRun(rc, &st);
  const int64_t n = st.policy->num_params();
  std::vector<double> before(st.policy->params(), st.policy->params() + n);
  Step(rc, &st);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = st.policy->params()[i] - before[i];
    sq += d * d;
  }
  std::vector<double> m(MetricNames().size());
  Evaluate(rc, &st, m.data());
  return {std::sqrt(sq), m[MetricIndex("grad_norm")]};
}

TEST(TrainingTest, GlobalNormClippingBoundsTheUpdate) {
  const auto [free_update, raw_norm] = UpdateNorm("0");
  ASSERT_GT(raw_norm, 0.0);
  EXPECT_NEAR(free_update, 2.0 * raw_norm, 1e-12);  // SGD: |dtheta| = lr |g|
  // A threshold below the raw norm rescales the gradient to exactly that norm.
  const double cap = raw_norm / 4;
  const auto [clipped_update, logged] = UpdateNorm(Exact(cap));
  EXPECT_NEAR(clipped_update, 2.0 * cap, 1e-12);
  EXPECT_EQ(logged, raw_norm);  // grad_norm is logged before clipping
  // A threshold above it changes nothing, bit for bit.
  const auto [loose_update, unused] = UpdateNorm(Exact(raw_norm * 2));
  EXPECT_EQ(loose_update, free_update);
}

// DASH's filter: dropped rollouts get no coefficient and leave the token-mean
// normaliser, so the loss is exactly the kept rollouts' own token mean.
TEST(TrainingTest, FilteredRolloutsLeaveTheLoss) {
  RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "32"},
                                                        {"estimator.name", "grpo+dash"},
                                                        {"train.batch_prompts", "16"}}));
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  const StepStats ss = LossGradient(rc, &st, &st.batch, &st.grad);
  const Batch& b = st.batch;
  ASSERT_EQ(b.kept.size(), static_cast<size_t>(b.num_rollouts()));
  int kept = 0;
  for (uint8_t k : b.kept) kept += k;
  ASSERT_GT(kept, 0);
  ASSERT_LT(kept, b.num_rollouts());  // this batch has all-equal groups to drop
  EXPECT_EQ(ss.kept, kept);
  std::vector<double> coef(b.num_tokens(), 0.0);
  for (int r = 0; r < b.num_rollouts(); ++r) {
    if (b.kept[r] && b.advantage[r] != 0.0) coef[r] = -b.advantage[r] * (1.0 / kept);
  }
  for (int t = 0; t < b.num_tokens(); ++t) EXPECT_EQ(st.coef[t], coef[t]) << t;
  EXPECT_EQ(ss.backprop, kept);  // one token per kept rollout, all with A != 0
}

RunConfig DapoConfig(const std::string& max_resample) {
  return RunConfig::FromConfig(Config::Resolve({{"env.prompts", "64"},
                                                {"env.easy_logit", "6"},  // many all-correct groups
                                                {"env.hard_logit", "3"},
                                                {"train.batch_prompts", "16"},
                                                {"train.group_size", "4"},
                                                {"estimator.name", "grpo+dapo"},
                                                {"estimator.dapo_max_resample", max_resample}}));
}

bool AllInformative(const Batch& b) {
  for (int g = 0; g < b.num_groups(); ++g) {
    if (b.RewardsAllEqual(g)) return false;
  }
  return true;
}

// DAPO: the batch holds only informative groups, B of them when the rounds
// suffice; rounds and discards add up; a pure function of (config, seed, step).
TEST(TrainingTest, DapoCollectsInformativeGroups) {
  RunConfig rc = DapoConfig("20");
  RunState st, again;
  InitRun(rc, &st);
  InitRun(rc, &again);
  st.task->Advance(0);
  again.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  SampleBatch(rc, &again, again.rng, 0, &again.batch);
  const Batch& b = st.batch;
  EXPECT_TRUE(AllInformative(b));
  EXPECT_EQ(b.num_groups(), 16);
  EXPECT_GT(st.sampling.rounds, 1);
  EXPECT_LE(st.sampling.rounds, 21);
  EXPECT_EQ(st.sampling.generated_rollouts, st.sampling.rounds * 16 * 4);
  EXPECT_EQ(b.reward, again.batch.reward);
  EXPECT_EQ(b.token, again.batch.token);
  EXPECT_EQ(b.prompt, again.batch.prompt);
  // Without extra rounds DAPO only filters: fewer groups, all informative.
  RunConfig rc0 = DapoConfig("0");
  RunState st0;
  InitRun(rc0, &st0);
  st0.task->Advance(0);
  SampleBatch(rc0, &st0, st0.rng, 0, &st0.batch);
  EXPECT_TRUE(AllInformative(st0.batch));
  EXPECT_LT(st0.batch.num_groups(), 16);
  EXPECT_EQ(st0.sampling.rounds, 1);
  // Round 0 is the plain batch: its informative groups come first, in order.
  for (int g = 0; g < st0.batch.num_groups(); ++g) EXPECT_EQ(st0.batch.prompt[g], b.prompt[g]);
}

// The cost of a step, by hand, and where its counts come from: one inference
// call per train.rollout_batch rollouts of a round (0: one per round, DASH's
// preemptive sampling); one backward call per micro-batch of kept rollouts.
TEST(TrainingTest, StepCostFollowsTheModel) {
  auto config = [](const char* rollout_batch) {
    return RunConfig::FromConfig(Config::Resolve({{"train.batch_prompts", "8"},
                                                  {"train.group_size", "4"},
                                                  {"train.micro_batch", "10"},
                                                  {"train.rollout_batch", rollout_batch},
                                                  {"cost.infer_call", "2"},
                                                  {"cost.infer_token", "0.5"},
                                                  {"cost.train_call", "3"},
                                                  {"cost.train_token", "0.25"}}));
  };
  SamplingStats sampling;
  sampling.rounds = 2;
  sampling.infer_calls = 3;
  sampling.generated_rollouts = 64;
  sampling.generated_tokens = 100;
  StepStats ss;
  ss.kept = 25;
  ss.train_calls = 3;
  ss.backward_tokens = 40;
  // inference 3 calls x 2 + 100 x 0.5; training 3 calls x 3 + 40 x 0.25
  EXPECT_EQ(StepCost(config("0"), sampling, ss), 3 * 2 + 50 + 9 + 10);
  for (const auto& [rollout_batch, calls] : {std::pair{"0", 1}, std::pair{"10", 4}}) {
    const RunConfig rc = config(rollout_batch);
    RunState st;
    InitRun(rc, &st);
    st.task->Advance(0);
    SampleBatch(rc, &st, st.rng, 0, &st.batch);
    EXPECT_EQ(st.sampling.infer_calls, calls);  // 32 rollouts: 1 call, or ceil(32 / 10)
    const StepStats s = LossGradient(rc, &st, &st.batch, &st.grad);
    EXPECT_EQ(s.train_calls, 4);  // ceil(32 / 10) micro-batches
  }
}

// AAPO's reference rollouts: G per prompt from the frozen initial policy, on
// their own stream, index-aligned, counted as generated (not discarded) and as
// one more inference call. After training, their success rate is pi_0's.
TEST(TrainingTest, ReferenceRolloutsComeFromTheInitialPolicy) {
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "64"},
                                                              {"train.batch_prompts", "64"},
                                                              {"train.group_size", "16"},
                                                              {"estimator.name", "grpo+aapo"},
                                                              {"optim.lr", "16"}}));
  RunState st;
  InitRun(rc, &st);
  for (int i = 0; i < 60; ++i) Step(rc, &st);
  st.task->Advance(st.step);
  SampleBatch(rc, &st, st.rng, st.step, &st.batch);
  const Batch& b = st.batch;
  EXPECT_EQ(st.sampling.extra_rollouts, 64 * 16);
  EXPECT_EQ(st.sampling.generated_rollouts, 2 * 64 * 16);
  EXPECT_EQ(st.sampling.infer_calls, 2);
  // The same draw the estimator's hook got (same stream, same step).
  std::vector<double> ref_reward;
  MakeLoopSampler(rc, &st, st.rng, st.step)->ReferenceRewards(b, &ref_reward);
  ASSERT_EQ(ref_reward.size(), static_cast<size_t>(b.num_rollouts()));
  // Mean reference reward vs the exact pi_0 success on the same prompts, and
  // the policy's rewards vs the trained policy's (which has moved away).
  double ref = 0.0, ref_exact = 0.0, pol = 0.0, pol_exact = 0.0;
  for (int g = 0; g < b.num_groups(); ++g) {
    const double p0 = st.task->SuccessProbability(st.reference.get(), b.prompt[g]);
    const double p = st.task->SuccessProbability(st.policy.get(), b.prompt[g]);
    ref_exact += p0 * b.group_size(g);
    pol_exact += p * b.group_size(g);
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) {
      ref += ref_reward[r];
      pol += b.reward[r];
    }
  }
  const double n = b.num_rollouts();
  const double sd = std::sqrt(0.25 / n);  // a Bernoulli mean's sd is at most this
  EXPECT_NEAR(ref / n, ref_exact / n, 5 * sd);
  EXPECT_NEAR(pol / n, pol_exact / n, 5 * sd);
  EXPECT_GT(pol_exact / n - ref_exact / n, 10 * sd);  // the two really differ
  // A whole run: nothing discarded, and the reference rollouts cost.
  RunState plain_st, aapo_st;
  const RunConfig plain = RunConfig::FromConfig(Config::Resolve({{"env.prompts", "64"},
                                                                 {"train.batch_prompts", "64"},
                                                                 {"train.group_size", "16"}}));
  InitRun(plain, &plain_st);
  InitRun(rc, &aapo_st);
  Step(plain, &plain_st);
  Step(rc, &aapo_st);
  std::vector<double> plain_m(MetricNames().size()), aapo_m(MetricNames().size());
  Evaluate(plain, &plain_st, plain_m.data());
  Evaluate(rc, &aapo_st, aapo_m.data());
  EXPECT_EQ(aapo_m[MetricIndex("discarded_frac")], 0.0);
  EXPECT_GT(aapo_m[MetricIndex("sim_cost")], plain_m[MetricIndex("sim_cost")]);
}

// ReMax's greedy responses: one per prompt, decoded by the sampling policy.
TEST(TrainingTest, GreedyRewardsComeFromTheTask) {
  const RunConfig rc = RunConfig::FromConfig(Config::Resolve({{"env.name", "chain"},
                                                              {"env.prompts", "64"},
                                                              {"train.batch_prompts", "16"},
                                                              {"estimator.name", "remax"},
                                                              {"optim.lr", "8"}}));
  RunState st;
  InitRun(rc, &st);
  for (int i = 0; i < 30; ++i) Step(rc, &st);
  st.task->Advance(st.step);
  SampleBatch(rc, &st, st.rng, st.step, &st.batch);
  const Batch& b = st.batch;
  std::vector<double> greedy(b.num_groups());
  int64_t greedy_tokens = 0;
  for (int g = 0; g < b.num_groups(); ++g) {
    int32_t len = 0;
    greedy[g] = st.task->GreedyReward(st.policy.get(), b.prompt[g], &len);
    greedy_tokens += len;
  }
  EXPECT_EQ(st.sampling.generated_tokens, b.num_tokens() + greedy_tokens);
  EXPECT_EQ(st.sampling.extra_rollouts, b.num_groups());
  PrepareBatch(rc, &st, &st.batch);
  for (int g = 0; g < b.num_groups(); ++g) {
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) {
      EXPECT_EQ(b.advantage[r], b.reward[r] - greedy[g]);
    }
  }
}

}  // namespace
}  // namespace advlab
