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
  return {std::sqrt(sq), st.win_grad_norm};
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

}  // namespace
}  // namespace advlab
