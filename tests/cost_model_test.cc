// The honest cost model (issue 11): every rollout no filter removed is charged
// its backward tokens, DASH's normaliser choice, the cumulative sample counts,
// and AAPO's cached reference rollouts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/cost.h"
#include "sim/gradient.h"
#include "sim/loop.h"
#include "sim/sample_batch.h"

namespace advlab {
namespace {

RunConfig Make(std::map<std::string, std::string> keys) {
  return RunConfig::FromConfig(Config::Resolve(keys));
}

// Tokens of the rollouts of `b` whose advantage is (not) exactly zero.
std::pair<int64_t, int64_t> ZeroAndNonzeroTokens(const Batch& b) {
  int64_t zero = 0, nonzero = 0;
  for (int r = 0; r < b.num_rollouts(); ++r) (b.advantage[r] == 0.0 ? zero : nonzero) += b.length(r);
  return {zero, nonzero};
}

// Plain GRPO back-propagates its zero-advantage rollouts too: the backward
// charge is every token of the batch, while tokens_backprop (non-zero
// coefficients) and the old formula (which charged only those) miss the
// all-equal groups. Making every group all-equal leaves the charge unchanged
// and takes the old formula's training-token term to 0.
TEST(CostModelTest, ZeroAdvantageRolloutsAreCharged) {
  const RunConfig rc = Make({{"env.name", "think"},
                             {"env.prompts", "64"},
                             {"train.batch_prompts", "16"},
                             {"train.group_size", "4"},
                             {"train.micro_batch", "5"}});
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  const Batch sampled = st.batch;
  const int64_t tokens = sampled.num_tokens();
  for (bool all_equal : {false, true}) {
    Batch b = sampled;
    if (all_equal) {
      for (double& r : b.reward) r = 0.0;
    }
    const StepStats ss = LossGradient(rc, &st, &b, &st.grad);
    const auto [zero, nonzero] = ZeroAndNonzeroTokens(b);
    ASSERT_GT(zero, 0);  // this batch has all-equal groups (or was made so)
    EXPECT_EQ(ss.backward_tokens, tokens);
    EXPECT_EQ(ss.backprop, nonzero);
    EXPECT_EQ(ss.train_calls, (64 + 4) / 5);  // ceil(64 rollouts / 5)
    const double rest = rc.cost_infer_call * st.sampling.infer_calls +
                        rc.cost_infer_token * st.sampling.generated_tokens +
                        rc.cost_train_call * ss.train_calls;
    const double old_formula = rest + rc.cost_train_token * nonzero;
    EXPECT_EQ(StepCost(rc, st.sampling, ss), rest + rc.cost_train_token * (zero + nonzero));
    EXPECT_NEAR(StepCost(rc, st.sampling, ss) - old_formula, rc.cost_train_token * zero, 1e-12);
    if (all_equal) {
      EXPECT_EQ(nonzero, 0);
    }
  }
}

// DASH's filter removes rows: its dropped rollouts are neither back-propagated
// nor charged.
TEST(CostModelTest, DashChargesOnlyKeptRollouts) {
  const RunConfig rc = Make({{"env.name", "think"},
                             {"env.prompts", "64"},
                             {"train.batch_prompts", "16"},
                             {"estimator.name", "grpo+dash"}});
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  const StepStats ss = LossGradient(rc, &st, &st.batch, &st.grad);
  const Batch& b = st.batch;
  int64_t kept_tokens = 0;
  for (int r = 0; r < b.num_rollouts(); ++r) kept_tokens += b.kept[r] ? b.length(r) : 0;
  ASSERT_LT(kept_tokens, b.num_tokens());
  EXPECT_EQ(ss.backward_tokens, kept_tokens);
}

// One gradient of grpo+dash on step 0's batch under `normalizer`, with the
// batch it came from.
struct DashGradient {
  std::vector<double> grad;
  std::vector<double> coef;
  Batch batch;
};
DashGradient GradientWith(const std::string& normalizer, const std::string& agg) {
  const RunConfig rc = Make({{"env.name", "think"},
                             {"env.prompts", "64"},
                             {"train.batch_prompts", "16"},
                             {"train.loss_agg", agg},
                             {"estimator.name", "grpo+dash"},
                             {"estimator.dash_normalizer", normalizer}});
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  LossGradient(rc, &st, &st.batch, &st.grad);
  return {st.grad.value, st.coef, st.batch};
}

// estimator.dash_normalizer: `kept` divides by the kept rollouts' count (tokens
// under token-mean), `generated` by the batch's; the update shrinks by exactly
// the kept share.
TEST(CostModelTest, DashNormalizerScalesTheUpdateByTheKeptShare) {
  for (const char* agg : {"seq-mean-token-sum", "token-mean"}) {
    const DashGradient kept = GradientWith("kept", agg), gen = GradientWith("generated", agg);
    const Batch& b = kept.batch;
    ASSERT_EQ(b.token, gen.batch.token);  // the same batch
    const bool per_token = std::string(agg) == "token-mean";
    int64_t n = 0, n_kept = 0;
    for (int r = 0; r < b.num_rollouts(); ++r) {
      n += per_token ? b.length(r) : 1;
      n_kept += b.kept[r] ? (per_token ? b.length(r) : 1) : 0;
    }
    ASSERT_GT(n_kept, 0);
    ASSERT_LT(n_kept, n);
    // The coefficients by hand: -A / n_kept and -A / n on kept rollouts.
    for (int r = 0; r < b.num_rollouts(); ++r) {
      for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
        const bool c = b.kept[r] && b.advantage[r] != 0.0;
        EXPECT_EQ(kept.coef[t], c ? -b.advantage[r] * (1.0 / n_kept) : 0.0) << agg << t;
        EXPECT_EQ(gen.coef[t], c ? -b.advantage[r] * (1.0 / n) : 0.0) << agg << t;
      }
    }
    const double share = static_cast<double>(n_kept) / n;
    double max_abs = 0.0;
    for (double g : kept.grad) max_abs = std::max(max_abs, std::abs(g));
    ASSERT_GT(max_abs, 0.0);
    for (size_t i = 0; i < kept.grad.size(); ++i) {
      EXPECT_NEAR(gen.grad[i], share * kept.grad[i], 1e-14 * max_abs) << agg << i;
    }
  }
}

// With binary rewards and grpo's std scaling DASH's default threshold drops
// exactly the zero-advantage rollouts, so under `generated` its update is plain
// GRPO's, bit for bit (under `kept` it is larger).
TEST(CostModelTest, DashGeneratedIsGrpoOnBinaryRewards) {
  auto params_after = [](const std::string& estimator, const std::string& normalizer) {
    std::map<std::string, std::string> keys = {{"env.prompts", "64"},
                                               {"train.batch_prompts", "16"},
                                               {"estimator.name", estimator}};
    if (!normalizer.empty()) keys["estimator.dash_normalizer"] = normalizer;
    const RunConfig rc = Make(keys);
    RunState st;
    InitRun(rc, &st);
    for (int i = 0; i < 5; ++i) Step(rc, &st);
    return std::vector<double>(st.policy->params(),
                               st.policy->params() + st.policy->num_params());
  };
  const std::vector<double> grpo = params_after("grpo", "");
  EXPECT_EQ(params_after("grpo+dash", "generated"), grpo);
  EXPECT_NE(params_after("grpo+dash", "kept"), grpo);
}

std::vector<double> Column(const RunConfig& rc, const RunRecord& rec, const std::string& name) {
  const size_t E = rc.EvalSteps().size();
  const size_t m = static_cast<size_t>(MetricIndex(name));
  return std::vector<double>(rec.values.begin() + m * E, rec.values.begin() + (m + 1) * E);
}

// `samples` counts every rollout generated: steps x B x G for plain runs, more
// with DAPO's resampling rounds, AAPO's reference and ReMax's greedy rollouts;
// `tokens_generated` their tokens.
TEST(CostModelTest, SamplesCountEveryGeneratedRollout) {
  std::map<std::string, std::string> keys = {{"env.name", "think"},
                                             {"env.prompts", "64"},
                                             {"train.batch_prompts", "8"},
                                             {"train.group_size", "4"},
                                             {"train.steps", "12"},
                                             {"train.eval_every", "4"}};
  const std::vector<double> steps = {0, 4, 8, 12};
  auto run = [&](const std::string& estimator) {
    keys["estimator.name"] = estimator;
    const RunConfig rc = Make(keys);
    const RunRecord rec = TrainRun(rc);
    return std::make_pair(Column(rc, rec, "samples"), Column(rc, rec, "tokens_generated"));
  };
  const auto [plain, plain_tokens] = run("grpo");
  const auto [aapo, aapo_tokens] = run("grpo+aapo");
  const auto [remax, remax_tokens] = run("remax");
  keys["estimator.dapo_max_resample"] = "20";
  const auto [dapo, dapo_tokens] = run("grpo+dapo");
  for (size_t e = 0; e < steps.size(); ++e) {
    EXPECT_EQ(plain[e], steps[e] * 8 * 4);
    EXPECT_EQ(aapo[e], 2 * steps[e] * 8 * 4);  // G reference rollouts per prompt
    EXPECT_EQ(remax[e], steps[e] * 8 * 5);     // one greedy response per prompt
    EXPECT_GE(plain_tokens[e], plain[e]);      // think: at least one token each
  }
  EXPECT_GT(plain_tokens[3], plain[3]);
  EXPECT_GT(dapo[3], plain[3]);  // resampling rounds
  EXPECT_EQ(std::fmod(dapo[3], 8 * 4), 0.0);  // whole rounds of B x G
}

// estimator.aapo_reference = cached: a prompt's reference rollouts are the
// same tokens every time it is drawn, generated (counted, charged) only the
// first time; fresh ones are drawn and charged every step.
TEST(CostModelTest, CachedReferenceIsChargedOncePerPrompt) {
  for (const char* answer_rate : {"0", "0.5"}) {
    const RunConfig rc = Make({{"env.name", "think"},
                               {"env.prompts", "24"},
                               {"env.answer_rate", answer_rate},
                               {"train.batch_prompts", "8"},
                               {"train.group_size", "4"},
                               {"optim.lr", "4"},
                               {"estimator.name", "grpo+aapo"},
                               {"estimator.aapo_reference", "cached"}});
    RunState st;
    InitRun(rc, &st);
    std::map<int32_t, std::vector<int32_t>> tokens;   // prompt -> its cached tokens
    std::map<int32_t, std::vector<uint8_t>> correct;  // prompt -> last correctness
    int rescored = 0, hits = 0;
    for (int step = 0; step < 30; ++step) {
      Step(rc, &st);
      const Batch& b = st.batch;
      const Batch& ref = st.ref_batch;
      ASSERT_EQ(ref.num_groups(), b.num_groups());
      int64_t fresh_rollouts = 0, fresh_tokens = 0;
      for (int g = 0; g < b.num_groups(); ++g) {
        const int32_t p = b.prompt[g];
        const int r0 = ref.group_begin[g], r1 = ref.group_begin[g + 1];
        std::vector<int32_t> tok(ref.token.begin() + ref.token_begin[r0],
                                 ref.token.begin() + ref.token_begin[r1]);
        std::vector<uint8_t> ok(ref.correct.begin() + r0, ref.correct.begin() + r1);
        auto it = tokens.find(p);
        if (it == tokens.end()) {
          tokens[p] = tok;
          fresh_rollouts += r1 - r0;
          fresh_tokens += static_cast<int64_t>(tok.size());
        } else {
          hits += 1;
          EXPECT_EQ(tok, it->second) << "prompt " << p << " step " << step;
          rescored += ok != correct[p] ? 1 : 0;
        }
        correct[p] = ok;
      }
      EXPECT_EQ(st.sampling.extra_rollouts, fresh_rollouts) << step;
      EXPECT_EQ(st.sampling.generated_rollouts, 8 * 4 + fresh_rollouts) << step;
      EXPECT_EQ(st.sampling.generated_tokens, b.num_tokens() + fresh_tokens) << step;
      EXPECT_EQ(st.sampling.infer_calls, fresh_rollouts > 0 ? 2 : 1) << step;
    }
    EXPECT_GT(hits, 100);
    EXPECT_EQ(tokens.size(), 24u);  // every prompt drawn: nothing left to generate
    // Rewards are recomputed against the current answers: fixed answers give the
    // cached rollouts the same correctness, re-randomised ones change it.
    if (std::string(answer_rate) == "0") {
      EXPECT_EQ(rescored, 0);
    } else {
      EXPECT_GT(rescored, 0);
    }
  }
}

// Cached references cost less than fresh ones and as much as plain GRPO once
// every prompt was seen; the diagnostics' extra batches do not fill the cache.
TEST(CostModelTest, CachedReferenceCostsAndDiagnostics) {
  std::map<std::string, std::string> keys = {{"env.prompts", "16"},
                                             {"train.batch_prompts", "8"},
                                             {"train.group_size", "4"},
                                             {"train.steps", "20"},
                                             {"train.eval_every", "10"},
                                             {"estimator.name", "grpo+aapo"}};
  auto run = [&](const std::string& reference, const std::string& diagnostics) {
    keys["estimator.aapo_reference"] = reference;
    keys["diagnostics.exact_gradient"] = diagnostics;
    const RunConfig rc = Make(keys);
    const RunRecord rec = TrainRun(rc);
    return std::make_pair(Column(rc, rec, "samples"), Column(rc, rec, "sim_cost"));
  };
  const auto [fresh, fresh_cost] = run("fresh", "false");
  const auto [cached, cached_cost] = run("cached", "false");
  const auto [diag, diag_cost] = run("cached", "true");
  EXPECT_EQ(fresh[2], 2 * 20 * 8 * 4);
  EXPECT_LE(cached[2], 20 * 8 * 4 + 16 * 4);  // at most G per prompt of the pool
  EXPECT_GT(cached[2], 20 * 8 * 4);
  EXPECT_LT(cached_cost[2], fresh_cost[2]);
  EXPECT_EQ(diag, cached);
  EXPECT_EQ(diag_cost, cached_cost);
}

}  // namespace
}  // namespace advlab
