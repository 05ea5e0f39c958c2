// grpo_passk, passk, pkpo, qae: hand-derived reference vectors, PKPO against
// subset enumeration, planning refusals, keys; and the exact check against
// pass@k: on a tiny choice-like problem (3 prompts, 3 answers, groups of G = 4)
// every group of rollouts is enumerated, giving each estimator's EXPECTED
// update sum_i A_i grad_z log pi(y_i) and its variance exactly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/grpo_step.h"
#include "estimators/passk_step.h"
#include "estimators/qae.h"
#include "estimators/testing.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/run_config.h"

namespace advlab {
namespace {

using Groups = std::vector<std::vector<double>>;
using test_util::MakeGroupBatch;
using test_util::RegisteredAdvantages;

std::vector<double> RunEst(const std::string& name, const Groups& g,
                        const std::map<std::string, std::string>& keys = {}) {
  Batch b = MakeGroupBatch(g);
  std::unique_ptr<Estimator> e = EstimatorRegistry::Get().Find(name)->make();
  if (!keys.empty()) {
    std::map<std::string, std::string> all = keys;
    all["estimator.name"] = name;
    const Config c = Config::Resolve(all);
    e->Bind(EstimatorContext{&c});
  }
  e->Compute(&b);
  return ToVector(b.advantage);
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "rollout " << i;
}

// ---- grpo_passk ----------------------------------------------------------------

TEST(GrpoPasskTest, OnlyTheBestGetsItsMarginOverTheRunnerUp) {
  // [1,0,0,0]: unbiased std 0.5; [0.2,0.9,0.4]: margin 0.5, std sqrt(0.13).
  ExpectNear(RunEst("grpo_passk", {{1, 0, 0, 0}, {0.2, 0.9, 0.4}, {0, 1, 1, 0}}),
             {1.0 / 0.500001, 0, 0, 0, 0, 0.5 / (std::sqrt(0.13) + 1e-6), 0, 0, 0, 0, 0},
             1e-12);
  ExpectNear(RunEst("grpo_passk", {{0.2, 0.9, 0.4}, {3, 3}}, {{"estimator.passk_norm_by_std", "false"}}),
             {0, 0.5, 0, 0, 0}, 1e-15);
  Batch b = MakeGroupBatch({{0.2, 0.9, 0.4}, {3, 3}});
  EstimatorRegistry::Get().Find("grpo_passk")->make()->Compute(&b);
  EXPECT_EQ(ToVector(b.baseline), (std::vector<double>{0.4, 0.4, 0.4, 3, 3}));
}

TEST(GrpoPasskTest, TwoRightAnswersGiveNoSignalAndSingletonsAreRefused) {
  EXPECT_EQ(RunEst("grpo_passk", {{1, 1, 0, 0}}), (std::vector<double>{0, 0, 0, 0}));
  const std::string why =
      BareBatchRefusal(ParseEstimatorName("grpo_passk"), MakeGroupBatch({{1, 0}, {1}}), {});
  EXPECT_NE(why.find("at least 2"), std::string::npos) << why;
  EXPECT_NE(why.find("group 2"), std::string::npos) << why;
}

// ---- passk ---------------------------------------------------------------------

TEST(PasskTest, ReferenceVectors) {
  // n = 4, k = 2, c = 1: rho = 1 - C(3,2)/C(4,2) = 1/2, sigma = 1/2,
  // A+ = 0.5 / 0.500001, A- = (0.5 - C(2,1)/C(3,1)) / 0.500001 = -(1/6) / 0.500001.
  const double ap = 0.5 / 0.500001, an = (0.5 - 2.0 / 3.0) / 0.500001;
  ExpectNear(RunEst("passk", {{1, 0, 0, 0}}, {{"estimator.passk_k", "2"}}), {ap, an, an, an}, 1e-12);
  // A reward that is neither 0 nor 1 passes through (the reference's np.where).
  ExpectNear(RunEst("passk", {{1, 0, 0.5, 0}}, {{"estimator.passk_k", "2"}}), {ap, an, 0.5, an},
             1e-12);
  // No std: (1 - rho) and (1 - rho - ratio).
  ExpectNear(RunEst("passk", {{1, 0, 0, 0}},
                 {{"estimator.passk_k", "2"}, {"estimator.passk_norm_by_std", "false"}}),
             {0.5, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0}, 1e-15);
  // n = 8, k = 4 (defaults), c = 2: rho = 1 - C(6,4)/C(8,4) = 1 - 15/70.
  const double rho = 1.0 - 15.0 / 70.0, sig = std::sqrt(rho * (1 - rho)) + 1e-6;
  const double neg = (1 - rho - 10.0 / 35.0) / sig;  // C(5,3)/C(7,3)
  ExpectNear(RegisteredAdvantages("passk", MakeGroupBatch({{0, 1, 0, 0, 1, 0, 0, 0}})),
             {neg, (1 - rho) / sig, neg, neg, (1 - rho) / sig, neg, neg, neg}, 1e-12);
  // Fewer than k wrong: every k-subset has a right one, rho = 1, A = 0.
  EXPECT_EQ(RunEst("passk", {{1, 1, 0, 1}}, {{"estimator.passk_k", "2"}}),
            (std::vector<double>{0, 0, 0, 0}));
}

TEST(PasskTest, KLargerThanTheGroupIsRefusedAtPlanning) {
  const std::string why =
      BareBatchRefusal(ParseEstimatorName("passk"), MakeGroupBatch({{1, 0, 0, 0}, {1, 0, 0}}), {});
  EXPECT_NE(why.find("estimator.passk_k"), std::string::npos) << why;
  EXPECT_EQ(BareBatchRefusal(ParseEstimatorName("pkpo"), MakeGroupBatch({{1, 0, 0, 0}}), {}), "");
  for (const char* name : {"passk", "pkpo"}) {
    try {
      RunConfig::FromConfig(Config::Resolve({{"estimator.name", name},
                                             {"estimator.passk_k", "9"},
                                             {"train.group_size", "8"}}));
      ADD_FAILURE() << name << ": k = 9 > G = 8 accepted";
    } catch (const UserError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'estimator.passk_k' = 9"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(RunConfig::FromConfig(Config::Resolve(
        {{"estimator.name", name}, {"estimator.passk_k", "8"}, {"train.group_size", "8"}})));
  }
}

// ---- pkpo ----------------------------------------------------------------------

// The subset sums by brute force (max over the empty set = 0).
std::vector<double> PkpoEnumerated(const std::vector<double>& r, int k, bool loo) {
  const int n = static_cast<int>(r.size());
  std::vector<double> out(n, 0.0);
  double count = 0.0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (__builtin_popcount(mask) != k) continue;
    count += 1.0;
    double mx = -1e300;
    for (int j = 0; j < n; ++j)
      if (mask >> j & 1u) mx = std::max(mx, r[j]);
    for (int i = 0; i < n; ++i) {
      if (!(mask >> i & 1u)) continue;
      double others = k == 1 ? 0.0 : -1e300;
      for (int j = 0; j < n; ++j)
        if (j != i && (mask >> j & 1u)) others = std::max(others, r[j]);
      out[i] += loo ? mx - others : mx;
    }
  }
  for (double& v : out) v /= count;
  return out;
}

TEST(PkpoTest, BinaryClosedFormsAndEnumeration) {
  // n = 4, k = 2, c = 1: none: k/n = 1/2 right, (k/n)(1 - 2/3) = 1/6 wrong;
  // loo_minus_one: C(3,1)/C(4,2) = 1/2 right, 0 wrong.
  ExpectNear(RunEst("pkpo", {{1, 0, 0, 0}}, {{"estimator.passk_k", "2"}, {"estimator.pkpo_baseline", "none"}}),
             {0.5, 1.0 / 6, 1.0 / 6, 1.0 / 6}, 1e-15);
  ExpectNear(RunEst("pkpo", {{1, 0, 0, 0}}, {{"estimator.passk_k", "2"}}), {0.5, 0, 0, 0}, 1e-15);
  const Groups cases = {{0.3, 0.7, 0.7, 0.1, 0.9},      {1, 0, 1, 1, 0, 0, 0},
                        {-1, 2.5, 0.25, 3, 0.25, 0.25}, {0.5, 0.5, 0.5}};
  std::vector<int32_t> rank(16);
  std::vector<double> adv(16);
  for (const auto& r : cases) {
    const int n = static_cast<int>(r.size());
    for (int k = 1; k <= n; ++k) {
      for (bool loo : {false, true}) {
        PkpoGroup(r.data(), n, k, loo, rank.data(), adv.data());
        const std::vector<double> want = PkpoEnumerated(r, k, loo);
        for (int i = 0; i < n; ++i) EXPECT_NEAR(adv[i], want[i], 1e-12) << n << " " << k << " " << loo;
      }
    }
  }
}

// ---- qae -----------------------------------------------------------------------

TEST(QaeTest, QuantileGateOnHardMixedAndEasyGroups) {
  const std::map<std::string, std::string> raw = {{"estimator.qae_norm_by_std", "false"}};
  // n = 8, K = 0.4: position 2.8. Hard (one right): b = 0, only the success moves.
  ExpectNear(RunEst("qae", {{1, 0, 0, 0, 0, 0, 0, 0}}, raw), {1, 0, 0, 0, 0, 0, 0, 0}, 0);
  // Easy (one wrong): b = 1, only the failure moves.
  ExpectNear(RunEst("qae", {{0, 1, 1, 1, 1, 1, 1, 1}}, raw), {-1, 0, 0, 0, 0, 0, 0, 0}, 0);
  // Three wrong: torch's lerp between sorted[2] = 0 and sorted[3] = 1 at 0.8.
  Batch b = MakeGroupBatch({{0, 0, 0, 1, 1, 1, 1, 1}});
  QaeEstimator(0.4, false).Compute(&b);
  EXPECT_DOUBLE_EQ(b.baseline[0], 0.8);
  ExpectNear(ToVector(b.advantage), {-0.8, -0.8, -0.8, 0.2, 0.2, 0.2, 0.2, 0.2}, 1e-15);
  // Default: divided by the unbiased std + 1e-6 (the released code).
  const double sd = std::sqrt(1.0 / 8.0) + 1e-6;  // one of 8 right: var = 8 (1/8)(7/8) / 7
  ExpectNear(RunEst("qae", {{1, 0, 0, 0, 0, 0, 0, 0}}), {1 / sd, 0, 0, 0, 0, 0, 0, 0}, 1e-12);
  // Singleton: verl's b = 0, std 1.
  ExpectNear(RunEst("qae", {{0.7}}), {0.7 / (1 + 1e-6)}, 1e-15);
}

// ---- the check against pass@k ------------------------------------------------------

// A choice-like problem: prompt q has softmax logits z_q over K answers,
// answer 0 right (reward 1), the others 0. For an estimator `adv` (group
// rewards -> advantages), enumerates every group of G answers and returns the
// expected update E[(1/G) sum_i A_i (e_{y_i} - pi)] stacked over prompts, and
// adds the trace of its covariance (summed over prompts) to *variance.
using AdvFn = std::function<std::vector<double>(const std::vector<double>&, int prompt)>;
constexpr int kAnswers = 3, kG = 4;
const std::vector<std::vector<double>> kLogits = {{0.3, 0, 0.5}, {-1, 0.2, 0}, {1.5, 0, -0.4}};

std::vector<double> Softmax(const std::vector<double>& z) {
  std::vector<double> p(z.size());
  double s = 0;
  for (size_t a = 0; a < z.size(); ++a) s += p[a] = std::exp(z[a]);
  for (double& v : p) v /= s;
  return p;
}

std::vector<double> ExpectedUpdate(const AdvFn& adv, double* variance) {
  std::vector<double> out;
  *variance = 0.0;
  for (int q = 0; q < static_cast<int>(kLogits.size()); ++q) {
    const std::vector<double> pi = Softmax(kLogits[q]);
    std::vector<double> mean(kAnswers, 0.0);
    double second = 0.0;
    int total = 1;
    for (int i = 0; i < kG; ++i) total *= kAnswers;
    for (int code = 0; code < total; ++code) {
      std::vector<int> y(kG);
      std::vector<double> r(kG);
      double prob = 1.0;
      for (int i = 0, c = code; i < kG; ++i, c /= kAnswers) {
        y[i] = c % kAnswers;
        r[i] = y[i] == 0 ? 1.0 : 0.0;
        prob *= pi[y[i]];
      }
      const std::vector<double> a = adv(r, q);
      std::vector<double> u(kAnswers, 0.0);
      for (int i = 0; i < kG; ++i)
        for (int b = 0; b < kAnswers; ++b) u[b] += a[i] * ((y[i] == b ? 1.0 : 0.0) - pi[b]) / kG;
      for (int b = 0; b < kAnswers; ++b) {
        mean[b] += prob * u[b];
        second += prob * u[b] * u[b];
      }
    }
    for (int b = 0; b < kAnswers; ++b) {
      second -= mean[b] * mean[b];
      out.push_back(mean[b]);
    }
    *variance += second;
  }
  return out;
}

// grad_z sum_q pass@k(q) = sum_q k (1 - p_q)^(k-1) p_q (e_0 - pi_q).
std::vector<double> PasskGradient(int k) {
  std::vector<double> g;
  for (const auto& z : kLogits) {
    const std::vector<double> pi = Softmax(z);
    const double p = pi[0], c = k * std::pow(1 - p, k - 1) * p;
    for (int b = 0; b < kAnswers; ++b) g.push_back(c * ((b == 0 ? 1.0 : 0.0) - pi[b]));
  }
  return g;
}

double Cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

AdvFn Step(const std::function<void(const double*, int, double*)>& f) {
  return [f](const std::vector<double>& r, int) {
    std::vector<double> a(r.size());
    f(r.data(), static_cast<int>(r.size()), a.data());
    return a;
  };
}

TEST(PasskExactTest, PkpoIsTheExactPasskGradientAndPasskWithoutStdIsParallel) {
  for (int k : {2, 3}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    const std::vector<double> grad = PasskGradient(k);
    double var = 0;
    int32_t rank[kG];
    for (bool loo : {false, true}) {
      const std::vector<double> e = ExpectedUpdate(
          Step([&](const double* r, int n, double* a) { PkpoGroup(r, n, k, loo, rank, a); }), &var);
      // Unbiased: E[sum_i A_i score_i] = grad pass@k, i.e. (1/G) of it here.
      for (size_t i = 0; i < grad.size(); ++i) EXPECT_NEAR(e[i] * kG, grad[i], 1e-12);
      EXPECT_NEAR(Cosine(e, grad), 1.0, 1e-12);
    }
    // passk without the std division: exactly (n/k - 1) grad pass@k.
    const std::vector<double> e = ExpectedUpdate(
        Step([&](const double* r, int n, double* a) { PasskGroup(r, n, k, false, a); }), &var);
    for (size_t i = 0; i < grad.size(); ++i) {
      EXPECT_NEAR(e[i] * kG, (static_cast<double>(kG) / k - 1.0) * grad[i], 1e-12);
    }
    // GRPO (and every pass@1 baseline) follows pass@1, not pass@k: the
    // per-prompt weights differ, so across prompts the direction differs.
    const std::vector<double> g = ExpectedUpdate(
        Step([](const double* r, int n, double* a) { GrpoGroup(r, n, true, a); }), &var);
    EXPECT_LT(Cosine(g, grad), 0.95);
  }
  // With the paper's sigma division passk is parallel per prompt (one
  // direction per prompt) but not across prompts: here at k = 2 the cosine
  // is 0.99890 (at k = 3 = n - 1 it happens to be 1).
  double var = 0;
  const std::vector<double> e = ExpectedUpdate(
      Step([](const double* r, int n, double* a) { PasskGroup(r, n, 2, true, a); }), &var);
  const double cos = Cosine(e, PasskGradient(2));
  EXPECT_LT(cos, 1.0 - 1e-4);
  EXPECT_GT(cos, 0.998);
}

TEST(PasskExactTest, OptimalBaselineHasTheLowestVariance) {
  // Per prompt b* = pi_0 w_0 / sum_a pi_a w_a (one decision; choice's
  // closed form, checked against ChoiceTask in optimal_baseline_test.cc).
  auto constant = [](const std::function<double(int)>& b) {
    return AdvFn([b](const std::vector<double>& r, int q) {
      std::vector<double> a(r.size());
      for (size_t i = 0; i < r.size(); ++i) a[i] = r[i] - b(q);
      return a;
    });
  };
  auto optimal = [](int q) {
    const std::vector<double> pi = Softmax(kLogits[q]);
    double s2 = 0, den = 0;
    for (double p : pi) s2 += p * p;
    for (double p : pi) den += p * (1 - 2 * p + s2);
    return pi[0] * (1 - 2 * pi[0] + s2) / den;
  };
  double v_opt, v_oracle, v_rloo, v_mean;
  const std::vector<double> e_opt = ExpectedUpdate(constant(optimal), &v_opt);
  const std::vector<double> e_or =
      ExpectedUpdate(constant([](int q) { return Softmax(kLogits[q])[0]; }), &v_oracle);
  ExpectedUpdate(AdvFn([](const std::vector<double>& r, int) {
                   std::vector<double> a(r.size());
                   double s = 0;
                   for (double v : r) s += v;
                   for (size_t i = 0; i < r.size(); ++i) a[i] = r[i] - (s - r[i]) / (r.size() - 1);
                   return a;
                 }),
                 &v_rloo);
  ExpectedUpdate(Step([](const double* r, int n, double* a) { GrpoGroup(r, n, false, a); }),
                 &v_mean);
  // Same expected update as the oracle (both unbiased), lower variance.
  for (size_t i = 0; i < e_opt.size(); ++i) EXPECT_NEAR(e_opt[i], e_or[i], 1e-14);
  EXPECT_LT(v_opt, v_oracle);
  EXPECT_LT(v_opt, v_rloo);
  EXPECT_LT(v_opt, v_mean);
}

}  // namespace
}  // namespace advlab
