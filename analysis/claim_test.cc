// Verdicts of analysis/claim.h on hand-made results whose effects are known:
// holds / does not hold / inconclusive at the threshold's edges, label swaps
// flip the verdict, an A/A comparison never holds, the design checks (too few
// pairs, divergence, a tuned value at its grid's edge) make it inconclusive,
// and the naive comparison is made at the control's tuned learning rate.
#include "analysis/claim.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/measures.h"
#include "sim/error.h"
#include "sim/results.h"

namespace advlab {
namespace {

// Final accuracy of arm `arm` at learning rate `lr` and seed `s`: a peak at
// lr 2 for both arms, `gain` added to arm "t", and a seed effect shared by the
// arms (so pairing removes it) plus a small per-arm jitter.
double Accuracy(const std::string& arm, double lr, int64_t s, double gain, double jitter) {
  const double lr_effect = lr == 2.0 ? 0.0 : -0.1;
  const double seed_effect = 0.02 * static_cast<double>((s * 7) % 5);
  const double j = jitter * static_cast<double>(((s * 13 + static_cast<int64_t>(arm[0])) % 7) - 3);
  return 0.5 + lr_effect + seed_effect + (arm == "t" ? gain : 0.0) + j;
}

Results MakeClaimResults(const std::vector<std::string>& arms, double gain, double jitter,
                         int64_t seeds, const std::vector<double>& lrs = {1, 2, 4}) {
  Results r;
  r.steps = {0, 100};
  Column id{"run_id", Column::Kind::kInt, {}, {}, {}};
  Column seed{"seed", Column::Kind::kInt, {}, {}, {}};
  Column arm{"arm", Column::Kind::kString, {}, {}, {}};
  Column lr{"optim.lr", Column::Kind::kFloat, {}, {}, {}};
  Metric acc{"accuracy", {}};
  Metric step{"update_norm", {}};
  for (const auto& a : arms)
    for (double l : lrs)
      for (int64_t s = 0; s < seeds; ++s) {
        id.ints.push_back(static_cast<int64_t>(id.ints.size()));
        seed.ints.push_back(s);
        arm.strings.push_back(a);
        lr.floats.push_back(l);
        acc.values.push_back(0.1);
        acc.values.push_back(Accuracy(a, l, s, gain, jitter));
        step.values.push_back(l);
        step.values.push_back(a == "t" ? 2 * l : l);
      }
  r.num_runs = static_cast<int64_t>(id.ints.size());
  r.runs = {id, seed, arm, lr};
  r.metrics = {acc, step};
  return r;
}

ClaimSpec Spec(double threshold, Claimed claimed = Claimed::kBetter) {
  ClaimSpec c;
  c.name = "test";
  c.control = "c";
  c.treatment = "t";
  c.threshold = threshold;
  c.claimed = claimed;
  c.analysis.tune_key = "optim.lr";
  c.analysis.resamples = 2000;
  return c;
}

TEST(ClaimTest, VerdictFollowsTheIntervalAgainstTheThreshold) {
  const Results r = MakeClaimResults({"c", "t"}, 0.10, 0.002, 16);
  // Effect 0.10 with a narrow interval: beyond 0.05, short of 0.2, not equal within 0.05.
  EXPECT_EQ(EvaluateClaim(r, Spec(0.05)).fair.verdict, Verdict::kHolds);
  EXPECT_EQ(EvaluateClaim(r, Spec(0.20)).fair.verdict, Verdict::kDoesNotHold);
  EXPECT_EQ(EvaluateClaim(r, Spec(0.05, Claimed::kEqual)).fair.verdict, Verdict::kDoesNotHold);
  EXPECT_EQ(EvaluateClaim(r, Spec(0.05, Claimed::kWorse)).fair.verdict, Verdict::kDoesNotHold);
  // A threshold inside the interval: inconclusive.
  const ClaimResult mid = EvaluateClaim(r, Spec(0.05));
  EXPECT_NEAR(mid.fair.effect, 0.10, 0.005);
  EXPECT_LT(mid.fair.lo, 0.10);
  EXPECT_GT(mid.fair.hi, 0.10);
  EXPECT_EQ(EvaluateClaim(r, Spec(mid.fair.lo + 0.5 * (mid.fair.hi - mid.fair.lo))).fair.verdict,
            Verdict::kInconclusive);
  EXPECT_EQ(mid.fair.pairs, 8);  // the 8 seeds above the 8 tuning seeds
  EXPECT_NE(mid.paragraph.find("holds"), std::string::npos);
}

TEST(ClaimTest, SwappingTheLabelsFlipsTheVerdict) {
  const Results r = MakeClaimResults({"c", "t"}, 0.10, 0.002, 16);
  ClaimSpec swapped = Spec(0.05);
  swapped.control = "t";
  swapped.treatment = "c";
  const ClaimResult s = EvaluateClaim(r, swapped);
  EXPECT_EQ(s.fair.verdict, Verdict::kDoesNotHold);
  EXPECT_NEAR(s.fair.effect, -0.10, 0.005);
  swapped.claimed = Claimed::kWorse;
  EXPECT_EQ(EvaluateClaim(r, swapped).fair.verdict, Verdict::kHolds);
}

TEST(ClaimTest, AnAaComparisonNeverHolds) {
  // "c" and "t" are the same config under two names: no gain, no jitter.
  const Results r = MakeClaimResults({"c", "t"}, 0.0, 0.0, 16);
  for (double t : {1e-6, 0.01, 0.1}) {
    const ClaimResult better = EvaluateClaim(r, Spec(t));
    EXPECT_EQ(better.fair.effect, 0.0);
    EXPECT_NE(better.fair.verdict, Verdict::kHolds) << t;
    EXPECT_NE(EvaluateClaim(r, Spec(t, Claimed::kWorse)).fair.verdict, Verdict::kHolds) << t;
    EXPECT_EQ(EvaluateClaim(r, Spec(t, Claimed::kEqual)).fair.verdict, Verdict::kHolds) << t;
  }
}

TEST(ClaimTest, NoisyEffectsAreInconclusive) {
  const Results r = MakeClaimResults({"c", "t"}, 0.01, 0.03, 16);
  EXPECT_EQ(EvaluateClaim(r, Spec(0.02)).fair.verdict, Verdict::kInconclusive);
}

TEST(ClaimTest, FailedDesignChecksMakeItInconclusive) {
  // Too few judged pairs: 8 seeds, 4 tune, 4 judged < 5.
  const ClaimResult few = EvaluateClaim(MakeClaimResults({"c", "t"}, 0.10, 0.002, 8), Spec(0.05));
  EXPECT_EQ(few.fair.verdict, Verdict::kInconclusive);
  ASSERT_FALSE(few.fair.failed_checks.empty());
  EXPECT_NE(few.fair.failed_checks[0].find("4 seed pairs"), std::string::npos);
  // The optimum at the grid's edge: lr 2 is the largest value of {1, 2}.
  const ClaimResult edge =
      EvaluateClaim(MakeClaimResults({"c", "t"}, 0.10, 0.002, 16, {1, 2}), Spec(0.05));
  EXPECT_EQ(edge.fair.verdict, Verdict::kInconclusive);
  EXPECT_FALSE(edge.tuning_notes.empty());
  // A diverged judged run.
  Results r = MakeClaimResults({"c", "t"}, 0.10, 0.002, 16);
  const size_t run = 3 * 16 + 16 + 12;  // arm t, lr 2, seed 12
  r.metrics[0].values[run * 2 + 1] = std::nan("");
  ASSERT_TRUE(FindDivergence(r, static_cast<int64_t>(run)).diverged);
  const ClaimResult div = EvaluateClaim(r, Spec(0.05));
  EXPECT_EQ(div.fair.verdict, Verdict::kInconclusive);
  EXPECT_EQ(div.fair.diverged, 1);
}

TEST(ClaimTest, NaiveComparisonIsAtTheControlsTunedValue) {
  const ClaimResult r = EvaluateClaim(MakeClaimResults({"c", "t"}, 0.10, 0.002, 16), Spec(0.05));
  ASSERT_TRUE(r.naive.present);
  EXPECT_NE(r.naive.label.find("optim.lr 2"), std::string::npos);
  EXPECT_EQ(r.naive.pairs, 8);
  EXPECT_NEAR(r.naive.effect, 0.10, 0.005);
  // update_norm: the treatment's is twice the control's.
  EXPECT_DOUBLE_EQ(r.naive.treatment_step / r.naive.control_step, 2.0);
  ASSERT_EQ(r.tuned.size(), 2u);
  EXPECT_EQ(r.tuned[0], "arm=c: optim.lr 2");
}

TEST(ClaimTest, LowerIsBetterMeasuresAreOriented) {
  const Results r = MakeClaimResults({"c", "t"}, 0.10, 0.002, 16);
  ClaimSpec c = Spec(0.05);
  c.analysis.goal = -1;  // lower accuracy "better": t is now worse by 0.1
  c.analysis.tune_key.clear();  // (tuned, each arm's best would be an edge of the grid)
  const ClaimResult out = EvaluateClaim(r, c);
  EXPECT_NEAR(out.fair.effect, -0.10, 0.005);
  EXPECT_EQ(out.fair.verdict, Verdict::kDoesNotHold);
  EXPECT_EQ(out.fair.pairs, 48);  // every seed at every lr, paired within lr
  EXPECT_FALSE(out.naive.present);
}

TEST(ClaimTest, BadSpecsAreRefused) {
  const Results r = MakeClaimResults({"c", "t"}, 0.10, 0.002, 16);
  ClaimSpec c = Spec(0.05);
  c.treatment = "x";
  EXPECT_THROW(EvaluateClaim(r, c), UserError);
  c = Spec(0.0);
  EXPECT_THROW(EvaluateClaim(r, c), UserError);
  c = Spec(0.05);
  c.key = "estimator.name";
  EXPECT_THROW(EvaluateClaim(r, c), UserError);
  c = Spec(0.05);
  c.treatment = "c";
  EXPECT_THROW(EvaluateClaim(r, c), UserError);
}

}  // namespace
}  // namespace advlab
