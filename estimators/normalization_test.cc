// The normalisation switches of grpo / dr_grpo (estimator.mean_scope,
// estimator.scale_rewards, estimator.std_epsilon) against hand (NumPy) vectors,
// and the equivalences between the switches and the named estimators; the
// baselines every baseline-bearing estimator reports (Batch::baseline).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/grpo.h"
#include "estimators/testing.h"
#include "sim/config.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

using test_util::MakeGroupBatch;

std::vector<double> Normalized(const GrpoEstimator& proto, Batch batch, std::vector<double>* baseline) {
  GrpoEstimator e = proto;
  e.Compute(&batch);
  if (baseline != nullptr) *baseline = ToVector(batch.baseline);
  return ToVector(batch.advantage);
}

// Random groups of 0/1 and fractional rewards, sizes 1..6 (test data only).
Batch RandomBatch(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::vector<double>> groups;
  for (int g = 0; g < 9; ++g) {
    const int n = 1 + static_cast<int>(rng() % 6);
    std::vector<double> rs;
    for (int i = 0; i < n; ++i) {
      const double u = uniform(rng);
      rs.push_back(g % 3 == 0 ? u : (u < 0.5 ? 0.0 : 1.0));
    }
    groups.push_back(rs);
  }
  return MakeGroupBatch(groups);
}

TEST(NormalizationTest, TrlBatchScaleMatchesNumpy) {
  // TRL scale_rewards="batch": A = (R - group mean) / (std of all rewards + 1e-4).
  const Batch b = MakeGroupBatch({{1, 0, 0, 1}, {1, 1, 1, 0}});
  GrpoNorm norm;
  norm.std = StdScope::kBatch;
  norm.epsilon = 1e-4;
  const std::vector<double> want = {0.9659051524730883,  -0.9659051524730883, -0.9659051524730883,
                                    0.9659051524730883,  0.48295257623654414, 0.48295257623654414,
                                    0.48295257623654414, -1.4488577287096325};
  std::vector<double> baseline;
  const std::vector<double> got = Normalized(GrpoEstimator(true, norm), b, &baseline);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-14) << i;
  EXPECT_EQ(baseline, (std::vector<double>{0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75}));
}

TEST(NormalizationTest, BatchMeanGroupStdMatchesNumpy) {
  const Batch b = MakeGroupBatch({{1, 0, 0, 1}, {1, 1, 1, 0}});
  GrpoNorm norm;
  norm.mean = MeanScope::kBatch;
  const std::vector<double> want = {0.6495179278402775, -1.0825298797337959, -1.0825298797337959,
                                    0.6495179278402775, 0.749998500003,      0.749998500003,
                                    0.749998500003,     -1.2499975000049999};
  std::vector<double> baseline;
  const std::vector<double> got = Normalized(GrpoEstimator(true, norm), b, &baseline);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
  EXPECT_EQ(baseline, std::vector<double>(8, 0.625));
}

TEST(NormalizationTest, DefaultSwitchesAreGrpoAndDrGrpoBitForBit) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Batch b = RandomBatch(seed);
    EXPECT_EQ(Normalized(GrpoEstimator(true, GrpoNorm{}), b, nullptr),
              test_util::RegisteredAdvantages("grpo", b));
    GrpoNorm none;
    none.std = StdScope::kNone;
    // grpo with the std switched off is dr_grpo, bit for bit.
    EXPECT_EQ(Normalized(GrpoEstimator(true, none), b, nullptr),
              test_util::RegisteredAdvantages("dr_grpo", b));
    // epsilon is a key: verl's value is the default.
    GrpoNorm verl_eps;
    verl_eps.epsilon = 1e-6;
    EXPECT_EQ(Normalized(GrpoEstimator(true, verl_eps), b, nullptr),
              test_util::RegisteredAdvantages("grpo", b));
  }
}

TEST(NormalizationTest, RlooIsDrGrpoTimesGOverGMinusOne) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Batch b = RandomBatch(seed);
    const std::vector<double> rloo = test_util::RegisteredAdvantages("rloo", b);
    const std::vector<double> dr = test_util::RegisteredAdvantages("dr_grpo", b);
    for (int g = 0; g < b.num_groups(); ++g) {
      const int n = b.group_size(g);
      for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) {
        if (n == 1) {
          EXPECT_EQ(rloo[r], b.reward[r]);  // verl: a singleton keeps its reward
          EXPECT_EQ(dr[r], b.reward[r]);
        } else {
          EXPECT_EQ(rloo[r], dr[r] * (static_cast<double>(n) / (n - 1))) << "seed " << seed;
        }
      }
    }
  }
}

TEST(NormalizationTest, BatchMeanWithoutStdIsRewardMinusBatchMean) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const Batch b = RandomBatch(seed);
    GrpoNorm norm;
    norm.mean = MeanScope::kBatch;
    norm.std = StdScope::kNone;
    double sum = 0.0;
    for (int r = 0; r < b.num_rollouts(); ++r) sum += b.reward[r];
    const double mean = sum / b.num_rollouts();
    // dr_grpo's mean switch reaches the same formula.
    const std::vector<double> a = Normalized(GrpoEstimator(true, norm), b, nullptr);
    const std::vector<double> d = Normalized(GrpoEstimator(false, norm), b, nullptr);
    EXPECT_EQ(a, d);
    for (int r = 0; r < b.num_rollouts(); ++r) EXPECT_EQ(a[r], b.reward[r] - mean);
  }
}

TEST(NormalizationTest, BatchStdIsOneNumberForTheBatch) {
  // With the batch std, every group is divided by the same sigma: the ratio of
  // grpo(batch std) to dr_grpo is one constant 1 / (sigma_batch + eps).
  const Batch b = RandomBatch(7);
  GrpoNorm norm;
  norm.std = StdScope::kBatch;
  const std::vector<double> a = Normalized(GrpoEstimator(true, norm), b, nullptr);
  const std::vector<double> d = test_util::RegisteredAdvantages("dr_grpo", b);
  double ratio = 0.0;
  for (int r = 0; r < b.num_rollouts(); ++r) {
    if (d[r] == 0.0) continue;
    // Singleton groups: dr_grpo keeps R (mean 0); so does grpo's group mean.
    if (ratio == 0.0) ratio = a[r] / d[r];
    EXPECT_NEAR(a[r] / d[r], ratio, 1e-13) << r;
  }
  EXPECT_GT(ratio, 0.0);
}

TEST(NormalizationTest, KeysReachTheEstimatorThroughBind) {
  const Config config = Config::Resolve({{"estimator.scale_rewards", "batch"},
                                         {"estimator.mean_scope", "batch"},
                                         {"estimator.std_epsilon", "0.0001"}});
  GrpoEstimator e(true);
  EstimatorContext context;
  context.config = &config;
  e.Bind(context);
  EXPECT_EQ(e.norm().std, StdScope::kBatch);
  EXPECT_EQ(e.norm().mean, MeanScope::kBatch);
  EXPECT_EQ(e.norm().epsilon, 1e-4);
  GrpoEstimator dr(false);
  dr.Bind(context);  // dr_grpo reads the mean switch only
  EXPECT_EQ(dr.norm().std, StdScope::kNone);
  EXPECT_EQ(dr.norm().mean, MeanScope::kBatch);
}

// Batch::baseline: what each baseline-bearing estimator subtracted.
TEST(BaselineTest, GroupEstimatorsReportTheirBaselines) {
  const Batch b = MakeGroupBatch({{1, 0, 0, 1}, {0.5}, {1, 1, 0}}, {{1, 3, 2, 2}, {4}, {1, 1, 2}});
  auto baseline = [&b](const std::string& name) {
    Batch c = b;
    MakeEstimator(name)->Compute(&c);
    return ToVector(c.baseline);
  };
  const double t = 2.0 / 3.0;
  EXPECT_EQ(baseline("grpo"), (std::vector<double>{0.5, 0.5, 0.5, 0.5, 0.0, t, t, t}));
  EXPECT_EQ(baseline("dr_grpo"), baseline("grpo"));
  EXPECT_EQ(baseline("gpg"), baseline("grpo"));
  EXPECT_EQ(baseline("reinforce_pp_baseline"), baseline("grpo"));
  EXPECT_EQ(baseline("rloo"), (std::vector<double>{1.0 / 3, 2.0 / 3, 2.0 / 3, 1.0 / 3, 0.0, 0.5,
                                                   0.5, 1.0}));
  // opo: sum L R / sum L = (1 + 2) / 8 and (1 + 1) / 4.
  EXPECT_EQ(baseline("opo"), (std::vector<double>{3.0 / 8, 3.0 / 8, 3.0 / 8, 3.0 / 8, 0.0, 0.5,
                                                  0.5, 0.5}));
  EXPECT_TRUE(baseline("reinforce").empty());
  EXPECT_TRUE(baseline("reinforce_pp").empty());
}

TEST(BaselineTest, EmaBaselineReportsTheValueBeforeItsUpdate) {
  auto e = MakeEstimator("ema_baseline");
  Batch first = MakeGroupBatch({{1, 0, 0, 1}}, {}, {3});
  e->Compute(&first);
  EXPECT_EQ(ToVector(first.baseline), std::vector<double>(4, 0.5));  // first: its own mean
  Batch second = MakeGroupBatch({{1, 1, 1, 1}}, {}, {3});
  e->Compute(&second);
  EXPECT_EQ(ToVector(second.baseline), std::vector<double>(4, 0.5));  // b before the update
  Batch third = MakeGroupBatch({{1, 1, 1, 1}}, {}, {3});
  e->Compute(&third);
  EXPECT_EQ(ToVector(third.baseline), std::vector<double>(4, 0.9 * 0.5 + 0.1 * 1.0));
}

TEST(BaselineTest, AdvantageIsRewardMinusBaselineForTheSubtractingEstimators) {
  for (const char* name : {"dr_grpo", "rloo", "opo", "ema_baseline"}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      Batch b = RandomBatch(seed);
      MakeEstimator(name)->Compute(&b);
      ASSERT_EQ(b.baseline.size(), b.reward.size()) << name;
      for (int g = 0; g < b.num_groups(); ++g) {
        if (b.group_size(g) == 1 && std::string(name) != "ema_baseline") continue;
        for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r)
          EXPECT_NEAR(b.advantage[r], b.reward[r] - b.baseline[r], 1e-15) << name << " " << r;
      }
    }
  }
}

}  // namespace
}  // namespace advlab
