// Conformance of every registered policy loss: the coefficients are the
// derivative of the loss value in log pi (central differences), entries that
// claim the -A w fast path really give it, and at ratio 1 a ratio loss gives
// pg's coefficients bit for bit (the first minibatch of a ppo step is pg's).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "losses/ppo.h"
#include "sim/config.h"
#include "sim/policy_loss.h"

namespace advlab {
namespace {

struct Case {
  std::vector<double> adv, old_lp, lp;
  double weight;
};

std::vector<Case> Cases() {
  return {
      {{1.0, -0.5, 0.0, 2.0}, {-1.0, -2.0, -0.3, -0.7}, {-0.9, -2.3, -0.2, -0.71}, 0.25},
      {{-1.5, -1.5, -1.5}, {-0.1, -0.2, -0.3}, {-0.4, -0.05, -0.31}, 1.0 / 3},
      {{0.7}, {-1.2}, {-1.19}, 0.5},
  };
}

LossRollout View(const Case& c, const std::vector<double>& lp, bool token_adv) {
  LossRollout r;
  r.len = static_cast<int>(c.lp.size());
  r.weight = c.weight;
  r.advantage = c.adv[0];
  r.token_advantage = token_adv ? c.adv.data() : nullptr;
  r.logprob_old = c.old_lp.data();
  r.logprob = lp.data();
  return r;
}

TEST(LossesTest, EveryLossIsRegisteredWithADescription) {
  EXPECT_NE(PolicyLossRegistry::Get().Find("pg"), nullptr);
  EXPECT_NE(PolicyLossRegistry::Get().Find("ppo"), nullptr);
  for (const PolicyLossEntry* e : PolicyLossRegistry::Get().All()) {
    EXPECT_FALSE(e->description.empty()) << e->name;
    EXPECT_TRUE(e->make) << e->name;
  }
}

TEST(LossesTest, CoefficientsAreTheDerivativeOfTheValue) {
  const Config config = Config::Resolve({{"train.loss", "ppo"}, {"train.clip_high", "0.28"}});
  for (const PolicyLossEntry* e : PolicyLossRegistry::Get().All()) {
    std::unique_ptr<PolicyLoss> loss = e->make(config);
    for (const Case& c : Cases()) {
      for (bool token_adv : {false, true}) {
        SCOPED_TRACE(e->name + (token_adv ? " token advantages" : " sequence advantage"));
        std::vector<double> coef(c.lp.size(), -99.0);
        int64_t clipped = 0;
        loss->Coefficients(View(c, c.lp, token_adv), coef.data(), &clipped);
        const double h = 1e-6;
        for (size_t i = 0; i < c.lp.size(); ++i) {
          std::vector<double> up = c.lp, down = c.lp;
          up[i] += h;
          down[i] -= h;
          // Stop-gradient factors stay at the evaluation point (SurrogateValue).
          const double fd = (loss->SurrogateValue(View(c, up, token_adv), c.lp.data()) -
                             loss->SurrogateValue(View(c, down, token_adv), c.lp.data())) /
                            (2 * h);
          EXPECT_NEAR(coef[i], fd, 1e-7) << "token " << i;
          if (e->minus_advantage) {
            const double a = token_adv ? c.adv[i] : c.adv[0];
            EXPECT_EQ(coef[i], a == 0.0 ? 0.0 : -a * c.weight);
          }
        }
        if (!e->reports_clipping) {
          EXPECT_EQ(clipped, 0);
        }
        // The forward value is the surrogate at its own point.
        EXPECT_EQ(loss->Value(View(c, c.lp, token_adv)),
                  loss->SurrogateValue(View(c, c.lp, token_adv), c.lp.data()));
      }
    }
  }
}

TEST(LossesTest, RatioLossesAtRatioOneArePgBitForBit) {
  const Config config = Config::Resolve({});
  std::unique_ptr<PolicyLoss> pg = PolicyLossRegistry::Get().Find("pg")->make(config);
  for (const PolicyLossEntry* e : PolicyLossRegistry::Get().All()) {
    std::unique_ptr<PolicyLoss> loss = e->make(config);
    for (const Case& c : Cases()) {
      // gmpo weighs every token by its response's mean advantage: pg's only
      // for a sequence advantage (losses/gmpo.h).
      for (bool token_adv : {true, false}) {
        if (token_adv && e->name == "gmpo") continue;
        std::vector<double> a(c.lp.size()), b(c.lp.size());
        int64_t clipped = 0;
        loss->Coefficients(View(c, c.old_lp, token_adv), a.data(), &clipped);
        pg->Coefficients(View(c, c.old_lp, token_adv), b.data(), &clipped);
        for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << e->name << " token " << i;
      }
    }
  }
}

TEST(LossesTest, PpoCountsClippedTokens) {
  PpoLoss ppo(0.2, 0.2, 3.0);
  // Ratio e^0.5 = 1.65 > 1.2 with A > 0: clipped; e^-0.05 inside; e^2 with A < 0:
  // l = 0.5 e^2 = 3.69 > 3 * 0.5 = 1.5: dual-clipped.
  const std::vector<double> adv = {1.0, 1.0, -0.5}, old_lp = {-1.0, -1.0, -2.0},
                            lp = {-0.5, -1.05, 0.0};
  LossRollout r;
  r.len = 3;
  r.weight = 1.0;
  r.token_advantage = adv.data();
  r.logprob_old = old_lp.data();
  r.logprob = lp.data();
  std::vector<double> coef(3);
  int64_t clipped = 0;
  ppo.Coefficients(r, coef.data(), &clipped);
  EXPECT_EQ(clipped, 2);
  EXPECT_EQ(coef[0], 0.0);
  EXPECT_NEAR(coef[1], -std::exp(-0.05), 1e-15);
  EXPECT_EQ(coef[2], 0.0);
}

}  // namespace
}  // namespace advlab
