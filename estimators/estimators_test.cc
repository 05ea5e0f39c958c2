// Test vectors and edge cases for reinforce, grpo, dr_grpo and rloo, from
// /work/shared/reference/estimators.md (§12.1, §12.4, §12.5, §11.1).
//
// The reference values are verl's, run in float32 and printed to 6 decimals; we
// compute in double, so they are checked with EXPECT_NEAR(..., 5e-7), and the
// zeros that matter to the training loop with EXPECT_EQ.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/testing.h"

#include "estimators/grpo.h"
#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

using test_util::ExpectNear6;
using test_util::k6dp;

Batch MakeBatch(const std::vector<std::vector<double>>& groups) {
  return test_util::MakeGroupBatch(groups);
}

// Advantages of the registered estimator `name` on `groups`.
std::vector<double> Advantages(const std::string& name,
                               const std::vector<std::vector<double>>& groups) {
  return test_util::RegisteredAdvantages(name, MakeBatch(groups));
}

// A uniform double in [lo, hi) from a fully specified engine (std::mt19937_64 is
// pinned by the standard; the distributions are not, so convert by hand).
double Uniform(std::mt19937_64& rng, double lo, double hi) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * u;
}

// ---- §12.1: S1 (prompts A, B, C with G = 4, one token each) ----------------

const std::vector<std::vector<double>> kS1 = {{1, 0, 0, 1}, {1, 1, 1, 1}, {0, 0, 0, 1}};

void ExpectGroupBExactlyZero(const std::vector<double>& a, const std::string& what) {
  ASSERT_EQ(a.size(), 12u);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[i], 0.0) << what << " [" << i << "]";
}

TEST(EstimatorVectors, GrpoS1) {
  const std::vector<double> a = Advantages("grpo", kS1);
  ExpectNear6(a,
              {0.866024, -0.866024, -0.866024, 0.866024, 0, 0, 0, 0,  //
               -0.499999, -0.499999, -0.499999, 1.499997},
              "grpo S1");
  ExpectGroupBExactlyZero(a, "grpo S1");
}

TEST(EstimatorVectors, DrGrpoS1) {
  const std::vector<double> a = Advantages("dr_grpo", kS1);
  ExpectNear6(a, {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, -0.25, -0.25, -0.25, 0.75}, "dr_grpo S1");
  ExpectGroupBExactlyZero(a, "dr_grpo S1");
}

TEST(EstimatorVectors, RlooS1) {
  const std::vector<double> a = Advantages("rloo", kS1);
  ExpectNear6(a,
              {0.666667, -0.666667, -0.666667, 0.666667, 0, 0, 0, 0,  //
               -0.333333, -0.333333, -0.333333, 1.0},
              "rloo S1");
  ExpectGroupBExactlyZero(a, "rloo S1");
}

// ---- §12.4: binary GRPO closed forms, success / failure by k ---------------

struct ClosedForm {
  int group_size;
  int k;
  double success;
  double failure;
};

// The §12.4 table, verbatim. For G = 16 only k <= 8 is listed; k > 8 mirrors.
const std::vector<ClosedForm> kGrpoClosedForms = {
    {4, 1, 1.499997, -0.499999},   {4, 2, 0.866024, -0.866024},   {4, 3, 0.499999, -1.499997},
    {8, 1, 2.474867, -0.353552},   {8, 2, 1.620182, -0.540061},   {8, 3, 1.207612, -0.724567},
    {8, 4, 0.935413, -0.935413},   {8, 5, 0.724567, -1.207612},   {8, 6, 0.540061, -1.620182},
    {8, 7, 0.353552, -2.474867},   {16, 1, 3.749985, -0.249999},  {16, 2, 2.561730, -0.365961},
    {16, 3, 2.015559, -0.465129},  {16, 4, 1.677047, -0.559016},  {16, 5, 1.436138, -0.652790},
    {16, 6, 1.249998, -0.749999},  {16, 7, 1.097885, -0.853911},  {16, 8, 0.968244, -0.968244},
};

ClosedForm LookUp(int group_size, int k) {
  for (const ClosedForm& c : kGrpoClosedForms) {
    if (c.group_size == group_size && c.k == k) return c;
  }
  // Mirror: k successes of G is G-k failures with the roles (and signs) swapped.
  for (const ClosedForm& c : kGrpoClosedForms) {
    if (c.group_size == group_size && c.k == group_size - k) {
      return ClosedForm{group_size, k, -c.failure, -c.success};
    }
  }
  ADD_FAILURE() << "no closed form for G=" << group_size << " k=" << k;
  return {};
}

// k ones spread through the group (not all first), so that the position of the
// rewards inside a group is exercised too: 5 is coprime to 4, 8 and 16, so
// j*5 mod G visits k distinct slots.
std::vector<double> BinaryGroup(int group_size, int k) {
  std::vector<double> x(static_cast<size_t>(group_size), 0.0);
  for (int j = 0; j < k; ++j) x[static_cast<size_t>((j * 5) % group_size)] = 1.0;
  return x;
}

TEST(EstimatorVectors, BinaryClosedForms) {
  for (int group_size : {4, 8, 16}) {
    for (int k = 0; k <= group_size; ++k) {
      const std::vector<double> x = BinaryGroup(group_size, k);
      ASSERT_EQ(std::count(x.begin(), x.end(), 1.0), k);
      const std::vector<double> grpo = Advantages("grpo", {x});
      const std::vector<double> dr = Advantages("dr_grpo", {x});
      const std::vector<double> rloo = Advantages("rloo", {x});
      const std::string what = "G=" + std::to_string(group_size) + " k=" + std::to_string(k);
      if (k == 0 || k == group_size) {  // all wrong / all right: exactly no signal
        for (size_t i = 0; i < x.size(); ++i) {
          EXPECT_EQ(grpo[i], 0.0) << what;
          EXPECT_EQ(dr[i], 0.0) << what;
          EXPECT_EQ(rloo[i], 0.0) << what;
        }
        continue;
      }
      const ClosedForm c = LookUp(group_size, k);
      const double g = group_size;
      for (size_t i = 0; i < x.size(); ++i) {
        const bool success = x[i] == 1.0;
        EXPECT_NEAR(grpo[i], success ? c.success : c.failure, k6dp) << what << " grpo";
        // §11.2: A_succ = sqrt((G-k)(G-1)/(G k)), A_fail = -sqrt(k(G-1)/(G(G-k))), before eps.
        const double sd = std::sqrt(k * (g - k) / (g * (g - 1)));
        const double want = (success ? (g - k) / g : -k / g) / (sd + GrpoEstimator::kEpsilon);
        EXPECT_NEAR(grpo[i], want, 1e-12) << what << " grpo closed form";
        // Dr. GRPO: 1 - k/G and -k/G; RLOO: (G-k)/(G-1) and -k/(G-1).
        EXPECT_NEAR(dr[i], success ? (g - k) / g : -k / g, 1e-15) << what << " dr_grpo";
        EXPECT_NEAR(rloo[i], success ? (g - k) / (g - 1) : -k / (g - 1), 1e-15) << what << " rloo";
      }
    }
  }
}

// ---- §12.5: edge cases ------------------------------------------------------

// uid [x, y, y], R = [0.7, 0.3, 0.9]: x is a singleton, its raw reward passes
// through (grpo divides it by 1 + 1e-6).
const std::vector<std::vector<double>> kSingleton = {{0.7}, {0.3, 0.9}};

TEST(EstimatorEdgeCases, SingletonGroup) {
  ExpectNear6(Advantages("grpo", kSingleton), {0.699999, -0.707105, 0.707105}, "grpo");
  ExpectNear6(Advantages("rloo", kSingleton), {0.7, -0.6, 0.6}, "rloo");
  ExpectNear6(Advantages("dr_grpo", kSingleton), {0.7, -0.3, 0.3}, "dr_grpo");
  // The pass-through is exact for the estimators without an epsilon.
  EXPECT_EQ(Advantages("rloo", kSingleton)[0], 0.7);
  EXPECT_EQ(Advantages("dr_grpo", kSingleton)[0], 0.7);
  EXPECT_EQ(Advantages("grpo", kSingleton)[0], 0.7 / (1.0 + 1e-6));
}

TEST(EstimatorEdgeCases, IdenticalBinaryGroupsAreExactlyZero) {
  for (const char* name : {"grpo", "dr_grpo", "rloo"}) {
    for (int group_size = 2; group_size <= 64; ++group_size) {
      for (double r : {0.0, 1.0, -1.0}) {
        const std::vector<double> x(static_cast<size_t>(group_size), r);
        // Next to a mixed group, so the zero is not an artefact of a lone group.
        const std::vector<double> a = Advantages(name, {{1, 0, 1}, x});
        for (size_t i = 3; i < a.size(); ++i) {
          EXPECT_EQ(a[i], 0.0) << name << " G=" << group_size << " r=" << r;
        }
      }
    }
  }
}

// DOCUMENTED DEVIATION (estimators.md §12.5): verl runs in float32 and we run in
// double, so verl's float32 artefacts are NOT reproduced:
//   [1,1,1,0.999]    verl 0.498972 x3 / -1.497036   ours 0.499002 x3 / -1.497006
//   [1,1,1,0.99999]  verl 0.416761 x3 / -1.250283   ours 0.416667 x3 / -1.250000
//   [0.3]*7          verl 0.0289 on every member    ours 0.0 (|A| < 1e-9 asserted)
// In float32 the group mean of a non-dyadic reward is inexact and the tiny std
// (sigma ~ 5e-4, 5e-6, 3e-8) is dominated by rounding; in double the exact values
// are sigma = 5e-4 and 5e-6, so A_succ = 2.5e-4/(5e-4+1e-6) and 2.5e-6/(5e-6+1e-6).
// Ours were computed with python3 (float64, left-to-right sums, as §12.9):
//   0.4990019960079286, -1.4970059880240074, 0.41666666667097657, -1.249999999994426.
// What is reproduced is the behaviour §2.2 warns about: a 1e-3 or 1e-5 reward gap
// still becomes an O(1) advantage.
TEST(EstimatorEdgeCases, DoublePrecisionDeviationFromVerlFloat32) {
  const std::vector<double> a = Advantages("grpo", {{1, 1, 1, 0.999}});
  ExpectNear6(a, {0.499002, 0.499002, 0.499002, -1.497006}, "grpo [1,1,1,0.999]");
  EXPECT_GT(std::abs(a[0] - 0.498972), 1e-5) << "now matches verl float32?";

  const std::vector<double> b = Advantages("grpo", {{1, 1, 1, 0.99999}});
  ExpectNear6(b, {0.416667, 0.416667, 0.416667, -1.250000}, "grpo [1,1,1,0.99999]");
  EXPECT_GT(std::abs(b[0] - 0.416761), 1e-5) << "now matches verl float32?";

  // [0.3]*7: verl float32 gives 0.0289 everywhere (sigma ~ 3.2e-8 against eps
  // 1e-6). In double 7 * 0.3 summed left to right, divided by 7, rounds back to
  // 0.3 exactly, so every A is 0.0; only |A| < 1e-9 is asserted, as the exact
  // zero is luck of rounding for a non-dyadic reward.
  for (const char* name : {"grpo", "dr_grpo", "rloo"}) {
    for (double v : Advantages(name, {std::vector<double>(7, 0.3)})) {
      EXPECT_LT(std::abs(v), 1e-9) << name;
    }
  }
}

// ---- §11.1: A_drgrpo = (G-1)/G * A_rloo --------------------------------------

TEST(EstimatorIdentities, DrGrpoIsShrunkRloo) {
  std::mt19937_64 rng(20260129);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::vector<double>> groups;
    for (int g = 0; g < 4; ++g) {
      const int size = 2 + static_cast<int>(rng() % 15);
      const double scale = trial % 2 == 0 ? 1.0 : 37.5;  // also off the unit interval
      std::vector<double> x;
      for (int i = 0; i < size; ++i) x.push_back(Uniform(rng, -scale, scale));
      groups.push_back(x);
    }
    const std::vector<double> dr = Advantages("dr_grpo", groups);
    const std::vector<double> rloo = Advantages("rloo", groups);
    size_t r = 0;
    for (const std::vector<double>& x : groups) {
      const double g = static_cast<double>(x.size());
      double ref = 0.0;  // the group's reward scale, for a relative tolerance
      for (double v : x) ref = std::max(ref, std::abs(v));
      for (size_t i = 0; i < x.size(); ++i, ++r) {
        EXPECT_NEAR(dr[r], (g - 1) / g * rloo[r], 1e-12 * ref) << "trial " << trial;
      }
    }
  }
}

// ---- reinforce ----------------------------------------------------------------

TEST(EstimatorVectors, ReinforceIsTheReward) {
  const std::vector<std::vector<double>> groups = {{1, 0, 0, 1}, {0.7}, {0.3, -2.5, 1e-9}, {1, 1}};
  const std::vector<double> a = Advantages("reinforce", groups);
  size_t r = 0;
  for (const std::vector<double>& x : groups) {
    for (double v : x) EXPECT_EQ(a[r++], v);
  }
  EXPECT_EQ(r, a.size());
}

TEST(EstimatorRegistration, GroupFlags) {
  const auto needs = [](const char* name) {
    const EstimatorEntry* e = EstimatorRegistry::Get().Find(name);
    EXPECT_NE(e, nullptr) << name;
    return e != nullptr && e->needs_groups;
  };
  EXPECT_FALSE(needs("reinforce"));
  EXPECT_TRUE(needs("grpo"));
  EXPECT_TRUE(needs("dr_grpo"));
  EXPECT_TRUE(needs("rloo"));
}

}  // namespace
}  // namespace advlab
