#include "sim/loss.h"

#include <gtest/gtest.h>

namespace advlab {
namespace {

// estimators.md §4: l = [[1,2,3,4],[5,6,7,8]], mask [[1,1,1,1],[1,1,0,0]].
double Aggregate(LossAgg agg, double scale) {
  const double l[2][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  const int len[2] = {4, 2};
  double loss = 0;
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < len[r]; ++t) loss += TokenWeight(agg, len[r], 2, 6, scale) * l[r][t];
  }
  return loss;
}

TEST(LossAggTest, ReferenceVectors) {
  EXPECT_NEAR(Aggregate(LossAgg::kTokenMean, 0), 3.5, 1e-15);           // verl, TRL bnpo/dapo
  EXPECT_NEAR(Aggregate(LossAgg::kSeqMeanTokenSum, 0), 10.5, 1e-15);    // verl
  EXPECT_NEAR(Aggregate(LossAgg::kSeqMeanTokenMean, 0), 4.0, 1e-15);    // verl, TRL grpo
  // Dr. GRPO with C = 4 = max completion length: TRL dr_grpo 2.625 (§8.2);
  // verl's value (no 1/R) would be 5.25.
  EXPECT_NEAR(Aggregate(LossAgg::kSeqMeanTokenSumNorm, 4), 2.625, 1e-15);
  EXPECT_NEAR(Aggregate(LossAgg::kSeqMeanTokenSumNorm, 8), 1.3125, 1e-15);
}

TEST(LossAggTest, AllModesCoincideUpToAConstantForOneTokenResponses) {
  for (int R : {1, 7, 512}) {
    const double tm = TokenWeight(LossAgg::kTokenMean, 1, R, R, 1);
    EXPECT_EQ(TokenWeight(LossAgg::kSeqMeanTokenSum, 1, R, R, 1), tm);
    EXPECT_EQ(TokenWeight(LossAgg::kSeqMeanTokenMean, 1, R, R, 1), tm);
    EXPECT_EQ(TokenWeight(LossAgg::kSeqMeanTokenSumNorm, 1, R, R, 1), tm);
  }
}

}  // namespace
}  // namespace advlab
