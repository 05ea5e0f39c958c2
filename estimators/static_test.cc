// Test vectors and edge cases for opo, gpg, reinforce_pp, reinforce_pp_baseline
// (estimators.md §12.1 S1/S2, §12.5, §2.7, §2.8, §2.10) and hand-derived
// sequences for the stateful ema_baseline.
//
// The reference values are verl's, run in float32 and printed to 6 decimals; we
// compute in double, so they are checked with EXPECT_NEAR(..., 5e-7), and the
// zeros that matter to the training loop with EXPECT_EQ.
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/testing.h"

#include "estimators/ema_baseline.h"
#include "estimators/gpg.h"
#include "estimators/reinforce_pp.h"
#include "sim/batch.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/run_config.h"

namespace advlab {
namespace {

using test_util::ExpectNear6;
using test_util::k6dp;

using Groups = std::vector<std::vector<double>>;
using Lengths = std::vector<std::vector<int>>;

Batch MakeBatch(const Groups& groups, const Lengths& lengths,
                const std::vector<int32_t>& prompts = {}) {
  return test_util::MakeGroupBatch(groups, lengths, prompts);
}

Lengths Ones(const Groups& groups) {
  Lengths l;
  for (const auto& x : groups) l.push_back(std::vector<int>(x.size(), 1));
  return l;
}

std::vector<double> Advantages(const std::string& name, Batch batch) {
  return test_util::RegisteredAdvantages(name, std::move(batch));
}

void ExpectNear(std::span<const double> got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol) << what << " [" << i << "]";
  }
}

// ---- §12.0 inputs --------------------------------------------------------------

const Groups kS = {{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}};
const Lengths kS2Lengths = {{2, 3, 4, 1}, {3, 3, 2, 4}, {1, 2, 3, 4}};

Batch S1() { return MakeBatch(kS, Ones(kS)); }
Batch S2() { return MakeBatch(kS, kS2Lengths); }

TEST(StaticInputs, S2HasThirtyTwoValidTokens) {
  const Batch b = S2();
  EXPECT_EQ(b.num_tokens(), 32);
  EXPECT_EQ(b.length(0), 2);
  EXPECT_EQ(b.length(11), 4);
}

void ExpectGroupBExactlyZero(const std::vector<double>& a, const std::string& what) {
  ASSERT_EQ(a.size(), 12u);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[i], 0.0) << what << " [" << i << "]";
}

// ---- opo (§2.6) --------------------------------------------------------------------

TEST(OpoVectors, S1IsDrGrpo) {
  const std::vector<double> a = Advantages("opo", S1());
  ExpectNear6(a, {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, -0.25, -0.25, -0.25, 0.75}, "opo S1");
  ExpectGroupBExactlyZero(a, "opo S1");
  // Equal lengths: the same bits as dr_grpo on these dyadic rewards.
  const std::vector<double> d = Advantages("dr_grpo", S1());
  if (!d.empty()) {
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], d[i]) << i;
  }
}

TEST(OpoVectors, S2LengthWeightedBaseline) {
  const std::vector<double> a = Advantages("opo", S2());
  // b_A = (2 + 1) / 10 = 0.3, b_C = 4 / 10 = 0.4.
  ExpectNear6(a, {0.7, -0.3, -0.3, 0.7, 0, 0, 0, 0, -0.4, -0.4, -0.4, 0.6}, "opo S2");
  ExpectGroupBExactlyZero(a, "opo S2");
}

TEST(OpoVectors, SingletonPassesRawReward) {  // §12.5 uid [x, y, y]
  const std::vector<double> a = Advantages("opo", MakeBatch({{0.7}, {0.3, 0.9}}, {{1}, {1, 1}}));
  ExpectNear6(a, {0.7, -0.3, 0.3}, "opo singleton");
  EXPECT_EQ(a[0], 0.7);
}

TEST(OpoVectors, AllEqualBinaryGroupsAreExactlyZeroWithAnyLengths) {
  const std::vector<double> a =
      Advantages("opo", MakeBatch({{1, 1, 1}, {0, 0}}, {{7, 1, 3}, {2, 5}}));
  for (double v : a) EXPECT_EQ(v, 0.0);
}

// ---- gpg (§2.10) -------------------------------------------------------------------

TEST(GpgVectors, AlphaIsVerlsNonZeroRewardCount) {
  EXPECT_DOUBLE_EQ(GpgEstimator::Alpha(S1()), 12.0 / 7.0);  // not original GPG's 3/2
  EXPECT_EQ(GpgEstimator::Alpha(MakeBatch({{0.7}, {0.3, 0.9}}, {{1}, {1, 1}})), 1.0);
  // No non-zero reward: max(1, 0) = 1, alpha = N (and every advantage is 0).
  EXPECT_EQ(GpgEstimator::Alpha(MakeBatch({{0, 0}, {0}}, {{1, 1}, {1}})), 3.0);
}

TEST(GpgVectors, S1) {
  const std::vector<double> a = Advantages("gpg", S1());
  ExpectNear6(a,
              {0.857143, -0.857143, -0.857143, 0.857143, 0, 0, 0, 0,  //
               -0.428571, -0.428571, -0.428571, 1.285714},
              "gpg S1");
  ExpectGroupBExactlyZero(a, "gpg S1");
  // Lengths play no part.
  const std::vector<double> b = Advantages("gpg", S2());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << i;
}

TEST(GpgVectors, SingletonPassesAlphaTimesRawReward) {  // §12.5, alpha = 3/3
  const std::vector<double> a = Advantages("gpg", MakeBatch({{0.7}, {0.3, 0.9}}, {{1}, {1, 1}}));
  ExpectNear6(a, {0.7, -0.3, 0.3}, "gpg singleton");
}

// ---- reinforce_pp (§2.7) -------------------------------------------------------

TEST(ReinforcePpVectors, S1) {
  const std::vector<double> a = Advantages("reinforce_pp", S1());
  const double p = 0.809174, q = -1.132843;  // (1 - 7/12) / 0.514929, -(7/12) / 0.514929
  ExpectNear6(a, {p, q, q, p, p, p, p, p, q, q, q, p}, "reinforce_pp S1");
}

TEST(ReinforcePpVectors, S2TokenWeighted) {
  const std::vector<double> a = Advantages("reinforce_pp", S2());
  const double p = 0.814143, q = -1.189901;
  ExpectNear6(a, {p, q, q, p, p, p, p, p, q, q, q, p}, "reinforce_pp S2");
}

// The step does not throw: planning refuses what it cannot whiten
// (BareBatchRefusal for `advlab advantage`, RunConfig for training).
TEST(ReinforcePpVectors, SingleValidTokenIsRefusedWhenPlanning) {
  for (const char* name : {"reinforce_pp", "reinforce_pp_baseline"}) {
    const Batch batch = MakeBatch({{1.0}}, {{1}});
    const EstimatorSpec spec = ParseEstimatorName(name);
    EXPECT_TRUE(spec.base->whitens_tokens) << name;
    EXPECT_EQ(BareBatchRefusal(spec, batch, FixedSampler{}),
              std::string(name) + ": the batch has a single valid token; whitening needs at "
                                  "least 2");
    EXPECT_THROW(RunConfig::FromConfig(Config::Resolve({{"estimator.name", name},
                                                        {"train.batch_prompts", "1"},
                                                        {"train.group_size", "1"}})),
                 UserError)
        << name;
  }
  // One rollout of two tokens is enough. It carries almost nothing: var ~ 0, but
  // verl's m = 2 / (2 + 1e-8) falls short of R = 1 by 5e-9, which the
  // 1 / sqrt(0 + 1e-8) = 1e4 scale turns into 5e-5 (verl's own artefact).
  const std::vector<double> a = Advantages("reinforce_pp", MakeBatch({{1.0}}, {{2}}));
  ExpectNear(a, {5e-5}, 1e-12, "two tokens");
}

TEST(ReinforcePpVectors, NoValidTokenIsRefusedWhenPlanning) {
  const Batch batch = MakeBatch({{1.0, 0.0}}, {{0, 0}});
  EXPECT_EQ(BareBatchRefusal(ParseEstimatorName("reinforce_pp"), batch, FixedSampler{}),
            "reinforce_pp: the batch has no valid token; whitening needs at least 2");
}

// DAPO can leave a step with no informative group: nothing to whiten.
TEST(ReinforcePpVectors, EmptyBatchHasNoAdvantages) {
  for (const bool baseline : {false, true}) {
    Batch batch = MakeBatch({}, {});
    ReinforcePlusPlusEstimator(baseline).Compute(&batch);
    EXPECT_TRUE(batch.advantage.empty());
  }
}

// ---- reinforce_pp_baseline (§2.8) ------------------------------------------------

TEST(ReinforcePpBaselineVectors, S1) {
  const std::vector<double> a = Advantages("reinforce_pp_baseline", S1());
  ExpectNear6(a,
              {1.253566, -1.253566, -1.253566, 1.253566, 0, 0, 0, 0,  //
               -0.626783, -0.626783, -0.626783, 1.880349},
              "reinforce_pp_baseline S1");
  // Equal lengths: the centred values sum exactly to 0, so m = 0 and B is 0.
  ExpectGroupBExactlyZero(a, "reinforce_pp_baseline S1");
}

TEST(ReinforcePpBaselineVectors, S2ZeroVarianceGroupLeaks) {
  const std::vector<double> a = Advantages("reinforce_pp_baseline", S2());
  const double b = 0.038458;  // -m / std, m = -0.5/32 = -0.015625, std = 0.406288
  ExpectNear6(a,
              {1.269110, -1.192194, -1.192194, 1.269110, b, b, b, b,  //
               -0.576868, -0.576868, -0.576868, 1.884435},
              "reinforce_pp_baseline S2");
  // The hand check of §12.1, to double precision.
  const double m = -0.5 / (32 + 1e-8);
  double ss = 0.0;
  const std::vector<double> c = {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, -0.25, -0.25, -0.25, 0.75};
  const std::vector<int> len = {2, 3, 4, 1, 3, 3, 2, 4, 1, 2, 3, 4};
  for (size_t r = 0; r < c.size(); ++r) ss += len[r] * (c[r] - m) * (c[r] - m);
  const double sd = std::sqrt(ss / (32 + 1e-8) * (32.0 / 31.0) + 1e-8);
  for (int i = 4; i < 8; ++i) EXPECT_NEAR(a[i], -m / sd, 1e-12) << i;
  EXPECT_GT(a[4], 0.0);
}

TEST(ReinforcePpBaselineVectors, SingletonEntersTheWhitening) {  // §12.5
  const std::vector<double> a =
      Advantages("reinforce_pp_baseline", MakeBatch({{0.7}, {0.3, 0.9}}, {{1}, {1, 1}}));
  ExpectNear6(a, {0.927173, -1.059626, 0.132453}, "reinforce_pp_baseline singleton");
}

// Without singletons the centred values do not depend on a group shift, so the
// advantages are shift-invariant (conformance_test.cc exempts this estimator
// only because its mixed batch has a singleton).
TEST(ReinforcePpBaselineVectors, ShiftInvariantWithoutSingletons) {
  const Groups base = {{1, 0, 0, 1}, {0.2, 0.9, 0.4}, {-1, 2.5, 0.25, 3}};
  const Lengths len = {{2, 3, 4, 1}, {5, 1, 2}, {1, 2, 3, 4}};
  const std::vector<double> a = Advantages("reinforce_pp_baseline", MakeBatch(base, len));
  for (double c : {0.5, -3.25, 7.3}) {
    Groups shifted = base;
    for (double& v : shifted[1]) v += c;
    const std::vector<double> s = Advantages("reinforce_pp_baseline", MakeBatch(shifted, len));
    ExpectNear(s, a, 1e-12, "shift " + std::to_string(c));
  }
}

TEST(ReinforcePpVectors, EmptyRolloutCarriesNothing) {
  // verl multiplies by the mask: a rollout without tokens gets 0 and does not
  // enter the statistics (the others get the bits of the batch without it).
  const std::vector<double> a = Advantages("reinforce_pp", MakeBatch({{1, 0, 0.5}}, {{2, 2, 0}}));
  const std::vector<double> b = Advantages("reinforce_pp", MakeBatch({{1, 0}}, {{2, 2}}));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[2], 0.0);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
}

// ---- ema_baseline --------------------------------------------------------------

// Step 1 has prompt 5 twice (updated twice, in order); step 2 brings a new prompt.
Batch EmaStep1() {
  return MakeBatch({{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}}, Ones(kS), {5, 2, 5});
}
Batch EmaStep2() {
  const Groups g = {{0, 0, 1, 1}, {1, 1, 1, 0}, {0, 1}};
  return MakeBatch(g, Ones(g), {2, 5, 7});
}

TEST(EmaBaseline, PerPromptTwoSteps) {
  EmaBaselineEstimator est(0.9, EmaScope::kPrompt);
  Batch b1 = EmaStep1();
  est.Compute(&b1);
  // g0 (p5): b5 = 0.5 (first mean), A = R - 0.5; b5 <- 0.9*0.5 + 0.1*0.5 = 0.5.
  // g1 (p2): b2 = 1, A = 0; b2 <- 1.
  // g2 (p5): A = R - 0.5; b5 <- 0.9*0.5 + 0.1*0.25 = 0.475.
  ExpectNear(b1.advantage,
             {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, -0.5, -0.5, -0.5, 0.5}, 1e-15, "step 1");
  for (int i = 4; i < 8; ++i) EXPECT_EQ(b1.advantage[i], 0.0);
  EXPECT_NEAR(est.Baseline(5), 0.475, 1e-15);
  EXPECT_EQ(est.Baseline(2), 1.0);
  EXPECT_FALSE(est.HasBaseline(7));

  Batch b2 = EmaStep2();
  est.Compute(&b2);
  // p2: A = R - 1, b2 <- 0.9 + 0.1*0.5 = 0.95.
  // p5: A = R - 0.475, b5 <- 0.9*0.475 + 0.1*0.75 = 0.5025.
  // p7 (new): b7 = 0.5, A = R - 0.5.
  ExpectNear(b2.advantage, {-1, -1, 0, 0, 0.525, 0.525, 0.525, -0.475, -0.5, 0.5}, 1e-12,
             "step 2");
  EXPECT_NEAR(est.Baseline(2), 0.95, 1e-12);
  EXPECT_NEAR(est.Baseline(5), 0.5025, 1e-12);
  EXPECT_NEAR(est.Baseline(7), 0.5, 1e-15);
}

TEST(EmaBaseline, GlobalTwoSteps) {
  EmaBaselineEstimator est(0.9, EmaScope::kGlobal);
  Batch b1 = EmaStep1();
  est.Compute(&b1);
  // g0: b = 0.5 (first mean), A = R - 0.5; b <- 0.5.
  // g1: A = R - 0.5 = 0.5; b <- 0.45 + 0.1 = 0.55.
  // g2: A = R - 0.55; b <- 0.495 + 0.025 = 0.52.
  ExpectNear(b1.advantage,
             {0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.55, -0.55, -0.55, 0.45}, 1e-12,
             "step 1");
  EXPECT_NEAR(est.Baseline(123), 0.52, 1e-12);
  Batch b2 = EmaStep2();
  est.Compute(&b2);
  // g0: A = R - 0.52; b <- 0.468 + 0.05 = 0.518.
  // g1: A = R - 0.518; b <- 0.4662 + 0.075 = 0.5412.
  // g2: A = R - 0.5412; b <- 0.48708 + 0.05 = 0.53708.
  ExpectNear(b2.advantage,
             {-0.52, -0.52, 0.48, 0.48, 0.482, 0.482, 0.482, -0.518, -0.5412, 0.4588}, 1e-12,
             "step 2");
  EXPECT_NEAR(est.Baseline(0), 0.53708, 1e-12);
}

TEST(EmaBaseline, BetaZeroIsTheLastGroupMean) {
  EmaBaselineEstimator est(0.0, EmaScope::kPrompt);
  Batch b1 = EmaStep1();
  est.Compute(&b1);
  EXPECT_EQ(est.Baseline(5), 0.25);
  Batch b2 = EmaStep2();
  est.Compute(&b2);
  EXPECT_EQ(b2.advantage[4], 0.75);  // 1 - 0.25
}

TEST(EmaBaseline, SingletonFirstObservationIsZero) {
  EmaBaselineEstimator est;
  Batch b = MakeBatch({{0.7}}, {{1}});
  est.Compute(&b);
  EXPECT_EQ(b.advantage[0], 0.0);
  Batch c = MakeBatch({{1.0}}, {{1}});
  est.Compute(&c);
  EXPECT_NEAR(c.advantage[0], 0.3, 1e-15);
}

TEST(EmaBaseline, RegisteredDefaults) {
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find("ema_baseline");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->needs_groups);
  std::unique_ptr<Estimator> e = entry->make();
  auto* ema = dynamic_cast<EmaBaselineEstimator*>(e.get());
  ASSERT_NE(ema, nullptr);
  EXPECT_EQ(ema->beta(), 0.9);
  EXPECT_EQ(ema->scope(), EmaScope::kPrompt);
}

TEST(EmaBaseline, BindReadsTheKeys) {
  const Config config =
      Config::Resolve({{"estimator.ema_beta", "0.5"}, {"estimator.ema_scope", "global"}});
  EmaBaselineEstimator est;
  est.Bind(EstimatorContext{&config});
  EXPECT_EQ(est.beta(), 0.5);
  EXPECT_EQ(est.scope(), EmaScope::kGlobal);
  EmaBaselineEstimator unbound(0.25, EmaScope::kGlobal);
  unbound.Bind(EstimatorContext{});
  EXPECT_EQ(unbound.beta(), 0.25);
  EXPECT_EQ(unbound.scope(), EmaScope::kGlobal);
}

TEST(EmaBaseline, FreshInstancesGiveIdenticalBits) {
  EmaBaselineEstimator a, b;
  for (int step = 0; step < 3; ++step) {
    Batch x = step % 2 == 0 ? EmaStep1() : EmaStep2();
    Batch y = x;
    a.Compute(&x);
    b.Compute(&y);
    for (size_t i = 0; i < x.advantage.size(); ++i) {
      EXPECT_EQ(std::bit_cast<uint64_t>(x.advantage[i]), std::bit_cast<uint64_t>(y.advantage[i]))
          << "step " << step << " rollout " << i;
    }
  }
}

TEST(EmaBaseline, ScopeAndKeys) {
  EXPECT_EQ(EmaBaselineEstimator::ParseScope("prompt"), EmaScope::kPrompt);
  EXPECT_EQ(EmaBaselineEstimator::ParseScope("global"), EmaScope::kGlobal);
  EXPECT_THROW(EmaBaselineEstimator::ParseScope("batch"), UserError);

  const Config config = Config::Resolve({});
  EXPECT_EQ(config.Float("estimator.ema_beta"), 0.9);
  EXPECT_EQ(config.Str("estimator.ema_scope"), "prompt");
  EXPECT_EQ(Config::Resolve({{"estimator.ema_beta", "0"}}).Float("estimator.ema_beta"), 0.0);
  EXPECT_EQ(Config::Resolve({{"estimator.ema_scope", "global"}}).Str("estimator.ema_scope"),
            "global");
  EXPECT_THROW(Config::Resolve({{"estimator.ema_beta", "1"}}), UserError);
  EXPECT_THROW(Config::Resolve({{"estimator.ema_beta", "-0.1"}}), UserError);
  EXPECT_THROW(Config::Resolve({{"estimator.ema_scope", "batch"}}), UserError);
}

// ---- registry ------------------------------------------------------------------

TEST(StaticRegistry, NeedsGroups) {
  const std::map<std::string, bool> want = {{"opo", true},
                                            {"gpg", true},
                                            {"reinforce_pp", false},
                                            {"reinforce_pp_baseline", true},
                                            {"ema_baseline", false}};
  for (const auto& [name, needs] : want) {
    const EstimatorEntry* e = EstimatorRegistry::Get().Find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->needs_groups, needs) << name;
  }
}

}  // namespace
}  // namespace advlab
