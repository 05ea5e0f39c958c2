// The cost model's arithmetic (docs/estimators.md, "Compute cost").
#include "sim/cost.h"

#include <gtest/gtest.h>

namespace advlab {
namespace {

TEST(CostTest, InferCallsPerRound) {
  RunConfig rc;
  rc.rollout_batch = 0;  // one call per round, whatever its size
  EXPECT_EQ(InferCalls(rc, 0), 0);
  EXPECT_EQ(InferCalls(rc, 512), 1);
  rc.rollout_batch = 100;
  EXPECT_EQ(InferCalls(rc, 512), 6);  // ceil(512 / 100)
  EXPECT_EQ(InferCalls(rc, 500), 5);
}

TEST(CostTest, StepCostWeighsCallsAndTokens) {
  RunConfig rc;  // defaults: 1 per inference call, 0.001 per token; 0.5, 0.003
  SamplingStats sp;
  sp.infer_calls = 2;
  sp.generated_tokens = 1000;
  StepStats ss;
  ss.train_calls = 4;
  ss.backward_tokens = 100;
  ss.backprop = 60;  // tokens with a non-zero coefficient: not what is charged
  EXPECT_DOUBLE_EQ(StepCost(rc, sp, ss), 2 * 1.0 + 1000 * 0.001 + 4 * 0.5 + 100 * 0.003);
}

}  // namespace
}  // namespace advlab
