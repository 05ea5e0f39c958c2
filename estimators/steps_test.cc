// The host/device steps (estimators/*_step.h) called directly on plain arrays
// give the same bits as the registered estimators' Compute and the modifiers'
// Apply (which call them): registry-driven, so a new estimator or modifier
// must add its direct form here (or the test names it).
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimators/aapo.h"
#include "estimators/bnpo_step.h"
#include "estimators/grpo_lead_step.h"
#include "estimators/krpo_step.h"
#include "estimators/seed_grpo_step.h"
#include "estimators/spo_step.h"
#include "estimators/adora.h"
#include "estimators/dapo_step.h"
#include "estimators/dash_step.h"
#include "estimators/ema_baseline_step.h"
#include "estimators/gae_step.h"
#include "estimators/gpg_step.h"
#include "estimators/grpo_step.h"
#include "estimators/opo_step.h"
#include "estimators/optimal_baseline_step.h"
#include "estimators/passk_step.h"
#include "estimators/oracle_step.h"
#include "estimators/reinforce_pp_step.h"
#include "estimators/reinforce_step.h"
#include "estimators/remax_step.h"
#include "estimators/rloo_step.h"
#include "estimators/testing.h"
#include "sim/batch.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/task.h"

namespace advlab {
namespace {

using Groups = std::vector<std::vector<double>>;
using Lengths = std::vector<std::vector<int>>;

// Batches with singletons, all-equal groups, partial credit and varied lengths.
test_util::HookedBatch TestBatch(int which) {
  const Groups groups[] = {
      {{1, 0, 0, 1}, {0, 0, 0, 0}, {1, 1, 1, 1}, {0.7}, {0.3, 0.9, 0.1}},
      {{1, 0, 1, 0, 0, 1, 0, 0}, {0.5, 0.25}, {-1, 2.5, 0.25, 3}},
  };
  const Lengths lengths[] = {
      {{3, 1, 2, 5}, {1, 1, 1, 1}, {2, 2, 2, 2}, {4}, {1, 3, 2}},
      {{1, 2, 3, 4, 5, 6, 7, 8}, {2, 1}, {3, 3, 1, 2}},
  };
  test_util::HookedBatch b;
  static_cast<Batch&>(b) = test_util::MakeGroupBatch(groups[which], lengths[which]);
  for (int r = 0; r < b.num_rollouts(); r += 3) b.truncated[r] = 1;
  for (int g = 0; g < b.num_groups(); ++g) {
    double sum = 0.0;
    for (int r = b.group_begin[g]; r < b.group_begin[g + 1]; ++r) sum += b.reward[r];
    b.extra.greedy.push_back(sum / b.group_size(g));  // remax: any value per group
  }
  for (int r = 0; r < b.num_rollouts(); ++r) {
    b.extra.reference.push_back(r % 3 == 0 ? 1.0 : 0.0);  // aapo
  }
  b.value.resize(b.num_tokens());  // gae unbound: a value per token
  for (int t = 0; t < b.num_tokens(); ++t) b.value[t] = 0.1 * (t % 7);
  return b;
}

void ExpectSameBits(std::span<const double> got, const std::vector<double>& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i]), std::bit_cast<uint64_t>(want[i]))
        << what << " [" << i << "]: " << got[i] << " vs " << want[i];
  }
}

// A step applied group by group: fn(g, first rollout, n, adv).
template <class Fn>
std::vector<double> PerGroup(const Batch& b, Fn&& fn) {
  std::vector<double> adv(b.num_rollouts());
  for (int g = 0; g < b.num_groups(); ++g) {
    const int first = b.group_begin[g];
    fn(g, first, b.group_size(g), adv.data() + first);
  }
  return adv;
}

// The oracle's task (its exact success probabilities are the step's input).
struct OracleFixture {
  Config config = Config::Resolve({{"env.name", "choice"}, {"env.prompts", "64"}});
  std::unique_ptr<Task> task = TaskRegistry::Get().Find("choice")->make(config, 3);
  std::unique_ptr<Policy> policy = PolicyRegistry::Get().Find("tabular")->make(config, *task);
};

// Each registered estimator's advantages, from its steps called directly on a
// fresh instance's state.
using Direct = std::function<std::vector<double>(const test_util::HookedBatch&)>;

std::map<std::string, Direct> DirectEstimators(OracleFixture* oracle) {
  std::map<std::string, Direct> d;
  for (const bool by_std : {true, false}) {
    d[by_std ? "grpo" : "dr_grpo"] = [by_std](const test_util::HookedBatch& b) {
      return PerGroup(b, [&](int, int first, int n, double* adv) {
        GrpoGroup(b.reward.data() + first, n, by_std, adv);
      });
    };
  }
  d["rloo"] = [](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      RlooGroup(b.reward.data() + first, n, adv);
    });
  };
  d["reinforce"] = [](const test_util::HookedBatch& b) {
    std::vector<double> adv(b.num_rollouts());
    ReinforceRollouts(b.reward.data(), b.num_rollouts(), adv.data());
    return adv;
  };
  d["opo"] = [](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      OpoGroup(b.reward.data() + first, b.token_begin.data() + first, n, adv);
    });
  };
  d["gpg"] = [](const test_util::HookedBatch& b) {
    const double alpha = GpgAlpha(b.reward.data(), b.num_rollouts());
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      GpgGroup(b.reward.data() + first, n, alpha, adv);
    });
  };
  for (const bool baseline : {false, true}) {
    d[baseline ? "reinforce_pp_baseline" : "reinforce_pp"] =
        [baseline](const test_util::HookedBatch& b) {
          std::vector<double> adv(b.num_rollouts());
          ReinforcePpBatch(b.reward.data(), b.group_begin.data(), b.num_groups(),
                           b.token_begin.data(), baseline, adv.data());
          return adv;
        };
  }
  d["ema_baseline"] = [](const test_util::HookedBatch& b) {
    // A fresh state: one slot per prompt id (the batch's prompts are its groups).
    std::vector<double> baseline(b.num_groups(), 0.0);
    std::vector<uint8_t> seen(b.num_groups(), 0);
    const EmaState state{baseline.data(), seen.data(), b.num_groups()};
    return PerGroup(b, [&](int g, int first, int n, double* adv) {
      EmaBaselineGroup(b.reward.data() + first, n, 0.9, state, b.prompt[g], adv);
    });
  };
  d["spo"] = [](const test_util::HookedBatch& b) {
    // Unbound: rho = 0.96; fresh trackers, one slot per prompt id.
    std::vector<double> alpha(b.num_groups(), 0.0), beta(b.num_groups(), 0.0);
    std::vector<double> base(b.num_rollouts());
    std::vector<uint8_t> seen(b.num_groups(), 0);
    const SpoState state{alpha.data(), beta.data(), seen.data(), b.num_groups()};
    std::vector<double> adv = PerGroup(b, [&](int g, int first, int n, double* a) {
      SpoGroup(b.reward.data() + first, n, kSpoRhoMax, kSpoRhoMax, 8.0, state, b.prompt[g], a,
               base.data() + first);
    });
    SpoNormalize(adv.data(), static_cast<int>(adv.size()));
    return adv;
  };
  for (const char* name : {"krpo", "krpo_persistent"}) {
    d[name] = [](const test_util::HookedBatch& b) {  // first visits: fresh filters
      std::vector<double> base(b.num_rollouts());
      return PerGroup(b, [&](int, int first, int n, double* adv) {
        KalmanState s;
        KrpoGroup(b.reward.data() + first, n, kKrpoQ, kKrpoR, &s, adv, base.data() + first);
      });
    };
  }
  d["bnpo"] = [](const test_util::HookedBatch& b) {
    std::vector<double> p, base(b.num_rollouts());
    for (int g = 0; g < b.num_groups(); ++g) {
      p.push_back(BnpoGroupP(b.reward.data() + b.group_begin[g], b.group_size(g)));
    }
    const BnpoShape shape = BnpoFit(p.data(), static_cast<int>(p.size()));
    return PerGroup(b, [&](int g, int first, int n, double* adv) {
      BnpoGroup(b.reward.data() + first, n, p[g], shape, adv, base.data() + first);
    });
  };
  d["oracle"] = [oracle](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int g, int first, int n, double* adv) {
      const double p = oracle->task->SuccessProbability(oracle->policy.get(), b.prompt[g]);
      OracleGroup(b.reward.data() + first, n, OracleNoise{0.0, 1.0 - 0.0 - 0.0}, p, adv);
    });
  };
  d["remax"] = [](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int g, int first, int n, double* adv) {
      RemaxGroup(b.reward.data() + first, n, b.extra.greedy[g], b.token_begin.data() + first,
                 nullptr, adv, nullptr);
    });
  };
  d["gae"] = [](const test_util::HookedBatch& b) {
    // Unbound (values from the batch): the outcome on each rollout's last token.
    const int n = b.num_tokens();
    std::vector<double> rewards(n, 0.0), tok(n), ret(n), adv(b.num_rollouts());
    for (int r = 0; r < b.num_rollouts(); ++r) rewards[b.token_begin[r + 1] - 1] = b.reward[r];
    GaeAdvantages(rewards.data(), b.value.data(), b.token_begin.data(), b.num_rollouts(), 1.0,
                  1.0, tok.data(), ret.data());
    WhitenTokens(tok.data(), n);
    for (int r = 0; r < b.num_rollouts(); ++r) adv[r] = tok[b.token_begin[r]];
    return adv;
  };
  // The pass@k and quantile family at their defaults (k = 4, std on,
  // loo_minus_one, K = 0.4).
  d["grpo_passk"] = [](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      GrpoPasskGroup(b.reward.data() + first, n, true, adv);
    });
  };
  d["passk"] = [](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      PasskGroup(b.reward.data() + first, n, 4, true, adv);
    });
  };
  d["pkpo"] = [](const test_util::HookedBatch& b) {
    std::vector<int32_t> rank(b.num_rollouts());
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      PkpoGroup(b.reward.data() + first, n, 4, true, rank.data(), adv);
    });
  };
  d["qae"] = [](const test_util::HookedBatch& b) {
    std::vector<double> sorted(b.num_rollouts());
    return PerGroup(b, [&](int, int first, int n, double* adv) {
      QaeGroup(b.reward.data() + first, n, 0.4, true, sorted.data(), adv);
    });
  };
  d["optimal"] = [oracle](const test_util::HookedBatch& b) {
    return PerGroup(b, [&](int g, int first, int n, double* adv) {
      const double bs =
          oracle->task->OptimalBaseline(oracle->policy.get(), b.prompt[g], 0.0, 0.0);
      OptimalGroup(b.reward.data() + first, n, bs, adv);
    });
  };
  d["optimal_token"] = [oracle](const test_util::HookedBatch& b) {
    // One-token rewards on the last token; W from the bound policy's rows.
    const int n = b.num_tokens();
    std::vector<double> ret(n), w(n), tok(n), adv(b.num_rollouts());
    Policy* policy = oracle->policy.get();
    for (int r = 0; r < b.num_rollouts(); ++r) {
      double acc = 0.0;
      for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
        ret[t] = b.reward[r];
        const double* pi = policy->Probs(b.state[t]);
        acc += 1.0 - 2.0 * pi[b.token[t]] + SumOfSquares(pi, policy->num_actions());
        w[t] = acc;
      }
    }
    for (int g = 0; g < b.num_groups(); ++g) {
      OptimalTokenGroup(ret.data(), w.data(), b.token_begin.data() + b.group_begin[g],
                        b.group_size(g), tok.data());
    }
    for (int r = 0; r < b.num_rollouts(); ++r) adv[r] = tok[b.token_begin[r]];
    return adv;
  };
  return d;
}

TEST(Steps, EveryRegisteredEstimatorMatchesItsStepBitForBit) {
  OracleFixture oracle;
  const std::map<std::string, Direct> direct = DirectEstimators(&oracle);
  for (const EstimatorEntry* entry : EstimatorRegistry::Get().All()) {
    const auto it = direct.find(entry->name);
    if (it == direct.end()) {
      ADD_FAILURE() << entry->name << ": no direct step form in steps_test.cc";
      continue;
    }
    for (int which = 0; which < 2; ++which) {
      test_util::HookedBatch b = TestBatch(which);
      const std::vector<double> want = it->second(b);
      std::unique_ptr<Estimator> e = entry->make();
      if (entry->needs_task) {
        e->Bind(EstimatorContext{&oracle.config, oracle.task.get(), oracle.policy.get(), 0.0,
                                 0.0});
      }
      test_util::ComputeWith(*e, &b);
      ExpectSameBits(b.advantage, want, entry->name + " batch " + std::to_string(which));
    }
  }
}

// The ema state across batches: the step on the same plain state, twice.
TEST(Steps, EmaBaselineStateMatchesAcrossBatches) {
  const EstimatorEntry* entry = EstimatorRegistry::Get().Find("ema_baseline");
  ASSERT_NE(entry, nullptr);
  std::unique_ptr<Estimator> e = entry->make();
  std::vector<double> baseline(8, 0.0);
  std::vector<uint8_t> seen(8, 0);
  const EmaState state{baseline.data(), seen.data(), 8};
  for (int which : {0, 1, 0}) {
    test_util::HookedBatch b = TestBatch(which);
    const std::vector<double> want = PerGroup(b, [&](int g, int first, int n, double* adv) {
      EmaBaselineGroup(b.reward.data() + first, n, 0.9, state, b.prompt[g], adv);
    });
    e->Compute(&b);
    ExpectSameBits(b.advantage, want, "ema_baseline batch " + std::to_string(which));
  }
}

// Each registered modifier's effect on advantages a0 (and kept) from its steps.
struct Modified {
  std::vector<double> adv;
  std::vector<uint8_t> kept;  // empty: none dropped
};
using DirectModifier = std::function<Modified(const test_util::HookedBatch&)>;

std::map<std::string, DirectModifier> DirectModifiers(OracleFixture* oracle) {
  std::map<std::string, DirectModifier> d;
  d["adora"] = [](const test_util::HookedBatch& b) {
    Modified m{ToVector(b.advantage), {}};
    for (int g = 0; g < b.num_groups(); ++g) {
      const int first = b.group_begin[g];
      AdoraGroup(AdoraOptions{}, b.reward.data() + first, b.truncated.data() + first,
                 b.token_begin.data() + first, b.group_size(g), m.adv.data() + first, nullptr);
    }
    return m;
  };
  d["dash"] = [](const test_util::HookedBatch& b) {
    Modified m{ToVector(b.advantage), std::vector<uint8_t>(b.num_rollouts(), 1)};
    DashFilter(0.1, b.num_rollouts(), m.adv.data(), m.kept.data());
    return m;
  };
  d["aapo"] = [](const test_util::HookedBatch& b) {
    Modified m{ToVector(b.advantage), {}};
    for (int g = 0; g < b.num_groups(); ++g) {
      const int first = b.group_begin[g];
      AapoGroup(AapoOptions{}, b.reward.data() + first, b.extra.reference.data() + first,
                b.group_size(g), nullptr, b.token_begin.data() + first, m.adv.data() + first,
                nullptr);
    }
    return m;
  };
  d["dapo"] = [](const test_util::HookedBatch& b) {
    return Modified{ToVector(b.advantage), {}};  // Apply leaves advantages alone
  };
  d["grpo_lead"] = [](const test_util::HookedBatch& b) {
    Modified m{ToVector(b.advantage), {}};
    for (int g = 0; g < b.num_groups(); ++g) {
      const int first = b.group_begin[g];
      GrpoLeadGroup(b.reward.data() + first, b.group_size(g), b.token_begin.data() + first,
                    m.adv.data() + first, nullptr);
    }
    return m;
  };
  d["seed_grpo"] = [oracle](const test_util::HookedBatch& b) {  // bound to the oracle's task
    Modified m{ToVector(b.advantage), {}};
    const double se_max = dm::Log(static_cast<double>(oracle->task->num_actions()));
    for (int g = 0; g < b.num_groups(); ++g) {
      const int first = b.group_begin[g];
      const double se = oracle->task->AnswerEntropy(oracle->policy.get(), b.prompt[g]);
      SeedGrpoScaleGroup(SeedGrpoFactor(0.02, se, se_max), b.group_size(g),
                         b.token_begin.data() + first, m.adv.data() + first, nullptr);
    }
    return m;
  };
  return d;
}

TEST(Steps, EveryRegisteredModifierMatchesItsStepBitForBit) {
  OracleFixture oracle;
  const std::map<std::string, DirectModifier> direct = DirectModifiers(&oracle);
  for (const ModifierEntry* entry : ModifierRegistry::Get().All()) {
    const auto it = direct.find(entry->name);
    if (it == direct.end()) {
      ADD_FAILURE() << entry->name << ": no direct step form in steps_test.cc";
      continue;
    }
    for (int which = 0; which < 2; ++which) {
      test_util::HookedBatch b = TestBatch(which);
      // Base advantages with both signs and small magnitudes (dash's threshold).
      b.advantage.resize(b.num_rollouts());
      for (int r = 0; r < b.num_rollouts(); ++r) b.advantage[r] = 0.07 * (r % 5) - 0.12;
      const Modified want = it->second(b);
      std::unique_ptr<Modifier> m = entry->make();
      if (entry->needs_task) {
        m->Bind(EstimatorContext{&oracle.config, oracle.task.get(), oracle.policy.get(), 0.0,
                                 0.0});
      }
      test_util::ApplyWith(*m, &b);
      const std::string what = entry->name + " batch " + std::to_string(which);
      ExpectSameBits(b.advantage, want.adv, what);
      EXPECT_EQ(ToVector(b.kept), want.kept) << what;
    }
  }
}

// The modifiers' options beyond the registered defaults.
TEST(Steps, ModifierOptionsMatchTheirStepBitForBit) {
  for (const auto criterion : {AdoraOptions::Criterion::kLength, AdoraOptions::Criterion::kBoth}) {
    for (const auto variant : {AdoraOptions::Variant::kPaper, AdoraOptions::Variant::kCode}) {
      AdoraOptions o;
      o.criterion = criterion;
      o.variant = variant;
      o.mode = AdoraOptions::Mode::kAttenuate;
      for (int which = 0; which < 2; ++which) {
        test_util::HookedBatch b = TestBatch(which);
        b.advantage.assign(b.num_rollouts(), 0.3);
        b.token_advantage.assign(b.num_tokens(), -0.7);  // token-level (gae, remax + KL)
        std::vector<double> adv = ToVector(b.advantage), tok = ToVector(b.token_advantage);
        for (int g = 0; g < b.num_groups(); ++g) {
          const int first = b.group_begin[g];
          AdoraGroup(o, b.reward.data() + first, b.truncated.data() + first,
                     b.token_begin.data() + first, b.group_size(g), adv.data() + first,
                     tok.data());
        }
        test_util::ApplyWith(AdoraModifier(o), &b);
        ExpectSameBits(b.advantage, adv, "adora");
        ExpectSameBits(b.token_advantage, tok, "adora tokens");
      }
    }
  }
  AapoOptions o;
  o.pairing = AapoOptions::Pairing::kRefMean;
  o.low = 0.5;
  test_util::HookedBatch b = TestBatch(1);
  b.advantage.assign(b.num_rollouts(), 0.25);
  b.kept.assign(b.num_rollouts(), 1);
  b.kept[2] = 0;  // dropped by an earlier filter
  b.token_advantage.assign(b.num_tokens(), 0.5);
  std::vector<double> adv = ToVector(b.advantage), tok = ToVector(b.token_advantage);
  for (int g = 0; g < b.num_groups(); ++g) {
    const int first = b.group_begin[g];
    AapoGroup(o, b.reward.data() + first, b.extra.reference.data() + first, b.group_size(g),
              b.kept.data() + first, b.token_begin.data() + first, adv.data() + first,
              tok.data());
  }
  test_util::ApplyWith(AapoModifier(o), &b);
  ExpectSameBits(b.advantage, adv, "aapo ref_mean");
  ExpectSameBits(b.token_advantage, tok, "aapo tokens");
}

// dapo's judgement is Batch::RewardsAllEqual's.
TEST(Steps, DapoJudgementIsRewardsAllEqual) {
  for (int which = 0; which < 2; ++which) {
    const test_util::HookedBatch b = TestBatch(which);
    for (int g = 0; g < b.num_groups(); ++g) {
      EXPECT_EQ(ZeroVarianceGroup(b.reward.data() + b.group_begin[g], b.group_size(g)),
                b.RewardsAllEqual(g))
          << "batch " << which << " group " << g;
    }
  }
}

}  // namespace
}  // namespace advlab
