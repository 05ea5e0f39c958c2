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

}  // namespace
}  // namespace advlab
