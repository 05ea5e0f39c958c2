// `advlab trace` shows the numbers the run uses: the traced batch is the one
// the run samples and prepares at that step (checked by replaying the run
// without an observer), tracing changes no bit of the run, the coefficients and
// the update follow from the advantages, and the step's cosine is the
// grad_cosine metric's value.
#include "experiments/trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/sweep.h"
#include "sim/error.h"
#include "sim/gradient.h"
#include "sim/loop.h"
#include "sim/metrics.h"

namespace advlab {
namespace {

using Keys = std::map<std::string, std::string>;

RunConfig Make(Keys keys) {
  keys.emplace("env.prompts", "24");
  keys.emplace("train.batch_prompts", "6");
  keys.emplace("train.group_size", "4");
  keys.emplace("train.steps", "12");
  keys.emplace("train.eval_every", "4");
  return PlanSweep(keys, {}, 1).Run(0);
}

// The configs the trace must follow: every family, stateful estimators and
// modifiers, filters, resampling, reference rollouts, several updates a step,
// ratio losses, KL in the reward and in the loss, the entropy bonus, clipping,
// norm matching, Adam, the MLP policy, a token-level estimator.
std::vector<Keys> Configs() {
  return {
      {{"env.name", "choice"}, {"estimator.name", "grpo"}},
      {{"env.name", "chain"}, {"estimator.name", "rloo"}, {"train.loss", "ppo"},
       {"train.epochs", "2"}, {"train.minibatches", "2"}},
      {{"env.name", "think"}, {"estimator.name", "grpo+adora+dash"},
       {"train.loss_agg", "seq-mean-token-mean"}},
      {{"env.name", "choice"}, {"estimator.name", "grpo+dapo"}},
      {{"env.name", "choice"}, {"estimator.name", "grpo+aapo"}},
      {{"env.name", "choice"}, {"estimator.name", "ema_baseline"}, {"optim.name", "adam"},
       {"optim.lr", "0.05"}},
      {{"env.name", "choice"}, {"estimator.name", "grpo+adora"}, {"train.match_update", "grpo"}},
      {{"env.name", "choice"}, {"policy.kind", "mlp"}, {"estimator.name", "grpo"},
       {"kl.coef", "0.1"}, {"kl.where", "reward"}, {"optim.lr", "0.1"}},
      {{"env.name", "think"}, {"estimator.name", "gae"}, {"kl.coef", "0.05"}},
      {{"env.name", "chain"}, {"estimator.name", "spo"}, {"train.entropy_coef", "0.01"},
       {"optim.max_grad_norm", "0.05"}},
  };
}

TEST(TraceTest, ShowsTheBatchAndTheUpdateTheRunMakes) {
  for (const Keys& keys : Configs()) {
    const RunConfig rc = Make(keys);
    SCOPED_TRACE(rc.config.Str("env.name") + " " + rc.config.Str("estimator.name"));
    for (int64_t T : {0, 5, 7}) {
      TraceOptions opt;
      opt.step = T;
      opt.json = true;  // every group
      const StepTrace tr = TraceStep(rc, opt);

      // The run without an observer, to step T, then step T's sampling and
      // preparation by hand.
      RunState st;
      InitRun(rc, &st);
      AdvanceRun(rc, &st, T, nullptr);
      ASSERT_EQ(st.step, T);
      st.task->AdvanceTraining(T, st.policy.get());
      SampleBatch(rc, &st, st.rng, T, &st.batch);
      st.batch.want_baseline = true;
      PrepareBatch(rc, &st, &st.batch);
      const Batch& b = st.batch;
      ASSERT_EQ(tr.num_groups, b.num_groups());
      ASSERT_EQ(tr.num_rollouts, b.num_rollouts());
      ASSERT_EQ(static_cast<int>(tr.groups.size()), b.num_groups());
      for (const TraceGroup& g : tr.groups) {
        EXPECT_EQ(g.prompt, b.prompt[g.slot]);
        EXPECT_EQ(g.p, st.task->SuccessProbability(st.policy.get(), g.prompt));
        for (size_t i = 0; i < g.rollouts.size(); ++i) {
          const int r = b.group_begin[g.slot] + static_cast<int>(i);
          const TraceRollout& tr_r = g.rollouts[i];
          EXPECT_EQ(tr_r.reward, b.reward[r]);
          EXPECT_EQ(tr_r.advantage[0], b.advantage[r]);
          EXPECT_EQ(tr_r.kept, b.kept.empty() || b.kept[r] != 0);
          ASSERT_EQ(static_cast<int>(tr_r.tokens.size()), b.length(r));
          for (int t = 0; t < b.length(r); ++t) EXPECT_EQ(tr_r.tokens[t], b.token[b.token_begin[r] + t]);
          if (!b.baseline.empty()) {
            EXPECT_EQ(tr_r.baseline, b.baseline[r]);
          }
        }
      }
      // Tracing moves no bit: the parameters after the traced step are those
      // of the run after T + 1 steps.
      RunState st2;
      InitRun(rc, &st2);
      AdvanceRun(rc, &st2, T + 1, nullptr);
      const std::vector<double> after(st2.policy->params(),
                                      st2.policy->params() + st2.policy->num_params());
      EXPECT_EQ(tr.params_after, after);
      const int updates = rc.epochs * rc.minibatches;
      EXPECT_EQ(static_cast<int>(tr.updates.size()), updates);
      // One update of the whole batch: its gradient is the run's g_hat.
      if (updates == 1 && b.num_rollouts() > 0) {
        EXPECT_NEAR(tr.updates[0].grad_norm, tr.estimators[0].norm,
                    1e-12 * (1.0 + tr.estimators[0].norm));
      }
    }
  }
}

// SGD without clipping: the first update is lr g_hat on every parameter, and
// under token-mean pg each token's coefficient is -A / (tokens of the batch).
TEST(TraceTest, CoefficientsAndUpdateFollowFromTheAdvantages) {
  const RunConfig rc = Make({{"env.name", "chain"}, {"estimator.name", "grpo"}, {"optim.lr", "2"}});
  TraceOptions opt;
  opt.step = 6;
  opt.json = true;
  const StepTrace tr = TraceStep(rc, opt);
  ASSERT_FALSE(tr.params.empty());
  for (const TraceParam& p : tr.params) {
    EXPECT_NEAR(p.delta, 2.0 * p.g_hat, 1e-12) << p.index;
  }
  for (const TraceGroup& g : tr.groups) {
    for (const TraceRollout& r : g.rollouts) {
      ASSERT_EQ(r.coef.size(), r.tokens.size());
      for (double c : r.coef) EXPECT_NEAR(c, -r.advantage[0] / tr.num_tokens, 1e-15);
    }
  }
  EXPECT_LE(std::fabs(tr.first_cosine), 1.0);
  EXPECT_EQ(tr.first_cosine, tr.first_cosine);  // defined: the step moved
}

// The whole step's cosine with grad J is the grad_cosine metric of a run whose
// eval follows the traced step, bit for bit.
TEST(TraceTest, StepCosineIsTheGradCosineMetric) {
  for (const char* env : {"choice", "chain", "think"}) {
    const RunConfig rc = Make({{"env.name", env},
                               {"estimator.name", "rloo"},
                               {"diagnostics.exact_gradient", "true"},
                               {"diagnostics.samples", "3"}});
    const RunRecord rec = TrainRun(rc);
    const std::vector<std::string>& names = MetricNames();
    size_t m = 0;
    while (names[m] != "grad_cosine") ++m;
    const size_t E = rc.EvalSteps().size();
    TraceOptions opt;
    opt.step = 7;  // the step before the eval at 8 (index 2)
    const StepTrace tr = TraceStep(rc, opt);
    EXPECT_EQ(tr.step_cosine, rec.values[m * E + 2]) << env;
  }
}

// A shadow estimator has the state it would have had in a run that saw the
// same batches: with a learning rate too small to move a logit, every
// estimator's run samples the same batches, so the shadow ema_baseline of a
// grpo run equals the run of ema_baseline itself.
TEST(TraceTest, ShadowEstimatorsFollowTheRunsBatches) {
  Keys keys = {{"env.name", "choice"}, {"optim.lr", "1e-300"}};
  keys["estimator.name"] = "grpo";
  TraceOptions opt;
  opt.step = 9;
  opt.json = true;
  opt.estimators = {"ema_baseline", "dr_grpo", "rloo"};
  const StepTrace shadowed = TraceStep(Make(keys), opt);
  keys["estimator.name"] = "ema_baseline";
  opt.estimators = {};
  const StepTrace own = TraceStep(Make(keys), opt);
  ASSERT_EQ(shadowed.estimators.size(), 4u);
  EXPECT_EQ(shadowed.estimators[1].name, "ema_baseline");
  ASSERT_EQ(shadowed.groups.size(), own.groups.size());
  const double G = 4.0;
  for (size_t g = 0; g < own.groups.size(); ++g) {
    for (size_t i = 0; i < own.groups[g].rollouts.size(); ++i) {
      const TraceRollout& s = shadowed.groups[g].rollouts[i];
      const TraceRollout& o = own.groups[g].rollouts[i];
      ASSERT_EQ(s.tokens, o.tokens);  // the premise: the same batches
      EXPECT_EQ(s.advantage[1], o.advantage[0]);
      EXPECT_NEAR(s.advantage[3], G / (G - 1.0) * s.advantage[2], 1e-15);  // rloo, dr_grpo
    }
  }
}

// The default columns are the prefixes of a modifier chain.
TEST(TraceTest, ModifierChainsShowEachPrefix) {
  TraceOptions opt;
  opt.step = 3;
  const StepTrace tr =
      TraceStep(Make({{"env.name", "think"}, {"env.answers", "4"},
                      {"estimator.name", "grpo+adora+dash"}}), opt);
  ASSERT_EQ(tr.estimators.size(), 3u);
  EXPECT_EQ(tr.estimators[0].name, "grpo+adora+dash");
  EXPECT_TRUE(tr.estimators[0].run);
  EXPECT_EQ(tr.estimators[1].name, "grpo");
  EXPECT_EQ(tr.estimators[2].name, "grpo+adora");
  EXPECT_EQ(tr.groups.size(), 4u);
  // ADORA (difficulty criterion, amplify): x2 where at most half the group is
  // right, x1 otherwise; DASH only filters (x1). Undefined on all-zero groups.
  int amplified = 0;
  for (const TraceGroup& g : tr.groups) {
    ASSERT_EQ(g.modifiers, (std::vector<std::string>{"adora", "dash"}));
    int right = 0;
    bool informative = false;
    for (const TraceRollout& r : g.rollouts) {
      right += r.reward > 0.5 ? 1 : 0;
      informative = informative || r.advantage[1] != 0.0;
    }
    if (!informative) {
      EXPECT_TRUE(std::isnan(g.weights[0]));
      continue;
    }
    EXPECT_EQ(g.weights[0], 2 * right <= static_cast<int>(g.rollouts.size()) ? 2.0 : 1.0);
    EXPECT_EQ(g.weights[1], 1.0);
    amplified += g.weights[0] == 2.0 ? 1 : 0;
  }
  EXPECT_GT(amplified, 0);  // the case is exercised
}

// When DASH drops every rollout of a minibatch, the run computes no
// coefficient: the trace shows zeros, not what the scratch array last held
// (here the shadow reinforce's coefficients, non-zero on all-correct groups).
TEST(TraceTest, AllDroppedMinibatchHasZeroCoefficients) {
  Keys keys = {{"env.name", "think"}, {"env.answers", "4"}, {"estimator.name", "grpo+dash"},
               {"train.batch_prompts", "2"}, {"train.group_size", "2"}, {"train.steps", "30"}};
  const RunConfig rc = Make(keys);
  int cases = 0;
  for (int64_t T = 0; T < 30; ++T) {
    TraceOptions opt;
    opt.step = T;
    opt.json = true;
    opt.estimators = {"reinforce"};
    const StepTrace tr = TraceStep(rc, opt);
    bool any_kept = false, any_right = false;
    for (const TraceGroup& g : tr.groups) {
      for (const TraceRollout& r : g.rollouts) {
        any_kept = any_kept || r.kept;
        any_right = any_right || r.reward > 0.5;
      }
    }
    if (any_kept) continue;
    cases += any_right ? 1 : 0;
    for (const TraceGroup& g : tr.groups) {
      for (const TraceRollout& r : g.rollouts) {
        ASSERT_EQ(r.coef.size(), r.tokens.size());
        for (double c : r.coef) EXPECT_EQ(c, 0.0) << "step " << T;
      }
    }
    EXPECT_EQ(tr.updates[0].grad_norm, 0.0);
  }
  EXPECT_GT(cases, 0);  // exercised: all dropped while reinforce's advantages are not 0
}

std::string Refusal(const RunConfig& rc, const TraceOptions& opt) {
  try {
    TraceStep(rc, opt);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(TraceTest, RefusesWhatCannotBeTraced) {
  const RunConfig choice = Make({{"env.name", "choice"}});
  TraceOptions opt;
  opt.step = 12;
  EXPECT_NE(Refusal(choice, opt).find("--step 12 is beyond the run: train.steps = 12"),
            std::string::npos);
  opt.step = 0;
  opt.groups = {6};
  EXPECT_NE(Refusal(choice, opt).find("--groups 6: out of range"), std::string::npos);
  opt.groups = {};
  opt.estimators = {"grpo+aapo"};
  EXPECT_NE(Refusal(choice, opt).find("aapo samples reference rollouts"), std::string::npos);
  opt.estimators = {"remax"};
  EXPECT_NE(Refusal(choice, opt).find("remax decodes its own greedy responses"), std::string::npos);
  opt.estimators = {"grpo+seed_grpo"};
  EXPECT_NE(Refusal(Make({{"env.name", "chain"}}), opt).find("--estimator grpo+seed_grpo"),
            std::string::npos);
  opt.estimators = {"pkpo"};
  // estimator.passk_k = 4 (the default) needs groups of at least 4.
  Keys big_k = {{"env.name", "choice"}, {"train.group_size", "3"}, {"estimator.name", "grpo"}};
  EXPECT_NE(Refusal(Make(big_k), opt).find("--estimator pkpo"), std::string::npos);
}

TEST(TraceTest, TextAndJsonAreDeterministic) {
  const RunConfig rc = Make({{"env.name", "think"}, {"estimator.name", "grpo+adora"}});
  TraceOptions opt;
  opt.step = 4;
  std::ostringstream a, b, j1, j2;
  PrintTrace(TraceStep(rc, opt), a);
  PrintTrace(TraceStep(rc, opt), b);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str().find("group 0: prompt"), std::string::npos);
  opt.json = true;
  PrintTraceJson(TraceStep(rc, opt), j1);
  PrintTraceJson(TraceStep(rc, opt), j2);
  EXPECT_EQ(j1.str(), j2.str());
}

}  // namespace
}  // namespace advlab
