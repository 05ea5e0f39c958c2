// The determinism contract (DESIGN §3, docs/determinism.md): results are a pure
// function of the config, whatever the thread count, and a run of a sweep is the
// same run as its config alone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "experiments/h5io.h"
#include "experiments/sweep.h"
#include "sim/loop.h"

namespace advlab {
namespace {

std::map<std::string, std::string> BaseKeys() {
  return {{"env.prompts", "64"},   {"train.steps", "120"}, {"train.eval_every", "40"},
          {"env.drift", "cyclic"}, {"env.drift_period", "50"}, {"optim.lr", "20"},
          {"train.batch_prompts", "16"}, {"train.group_size", "4"}};
}

std::vector<GridAxis> Grid() {
  return {{"estimator.name", {"reinforce", "rloo", "grpo", "dr_grpo"}},
          {"optim.name", {"sgd", "adam"}}};
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DeterminismTest, SweepBytesDoNotDependOnThreads) {
  SweepPlan plan = PlanSweep(BaseKeys(), Grid(), 3);
  ASSERT_EQ(plan.num_runs(), 24u);
  const std::string dir = ::testing::TempDir();
  std::string reference;
  for (int threads : {1, 2, 7}) {
    Results r = RunSweep(plan, threads);
    const std::string path =
        dir + "/det_threads_" + std::to_string(getpid()) + "_" + std::to_string(threads) + ".h5";
    WriteResultsFile(r, path);
    std::string bytes = FileBytes(path);
    ASSERT_FALSE(bytes.empty());
    if (reference.empty()) {
      reference = bytes;
    } else {
      EXPECT_TRUE(bytes == reference) << "threads=" << threads << " changed the file bytes";
    }
    std::remove(path.c_str());
  }
}

// AdvanceRun (sim/loop.h): a run advanced in pieces, stopping before, at and
// after eval points (as `advlab trace` replays to a step), records the same
// bits as TrainRun in one call, diagnosed steps included.
TEST(DeterminismTest, RunAdvancedInPiecesEqualsTrainRun) {
  for (const char* env : {"choice", "chain", "think"}) {
    std::map<std::string, std::string> keys = BaseKeys();
    keys["env.name"] = env;
    keys["estimator.name"] = "grpo+adora";
    keys["diagnostics.exact_gradient"] = "true";
    keys["diagnostics.samples"] = "3";
    const RunConfig rc = PlanSweep(keys, {}, 1).Run(0);
    const RunRecord whole = TrainRun(rc);
    RunState st;
    InitRun(rc, &st);
    RunRecord pieces;
    pieces.values.assign(whole.values.size(), -1.0);
    for (int64_t stop : {0, 1, 39, 40, 41, 80, 119, 120, 120}) AdvanceRun(rc, &st, stop, &pieces);
    EXPECT_EQ(st.step, 120);
    EXPECT_TRUE(SameBits(whole.values, pieces.values)) << env;
  }
}

TEST(DeterminismTest, RunOfASweepEqualsTheSameConfigAlone) {
  SweepPlan plan = PlanSweep(BaseKeys(), Grid(), 3);
  Results sweep = RunSweep(plan, 2);
  const size_t E = sweep.steps.size();
  for (size_t k : {0u, 5u, 13u, 23u}) {
    // The same config, given as plain keys, run alone.
    std::map<std::string, std::string> keys = BaseKeys();
    keys["estimator.name"] = plan.SweptValue(k, 0);
    keys["optim.name"] = plan.SweptValue(k, 1);
    keys["seed"] = std::to_string(plan.SeedOf(k));
    Results alone = RunSweep(PlanSweep(keys, {}, 1), 1);
    ASSERT_EQ(alone.steps, sweep.steps);
    for (size_t i = 0; i < sweep.metrics.size(); ++i) {
      std::vector<double> row(sweep.metrics[i].values.begin() + k * E,
                              sweep.metrics[i].values.begin() + (k + 1) * E);
      EXPECT_TRUE(SameBits(row, alone.metrics[i].values))
          << "run " << k << " metric " << sweep.metrics[i].name;
    }
  }
}

// Issues 3-4: every family and policy, random-walk drift, verifier noise,
// answer re-randomisation, clipping and exact-gradient diagnostics, on 1 and 3
// threads.
TEST(DeterminismTest, FamiliesNoiseDriftAndDiagnosticsDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.prompts", "48"},          {"env.answers", "4"},          {"env.modulus", "5"},
      {"env.chain_max_depth", "4"},   {"env.max_length", "8"},       {"env.max_required", "4"},
      {"env.eval_prompts", "16"},     {"env.drift", "random_walk"},  {"env.drift_walk_step", "0.1"},
      {"env.false_positive", "0.05"}, {"env.false_negative", "0.1"}, {"env.answer_rate", "0.01"},
      {"train.steps", "60"},          {"train.eval_every", "20"},    {"train.batch_prompts", "8"},
      {"train.group_size", "4"},      {"optim.lr", "4"},             {"diagnostics.exact_gradient", "true"},
      {"diagnostics.samples", "3"}};
  keys["optim.max_grad_norm"] = "0.5";
  keys["policy.hidden"] = "8";
  SweepPlan plan = PlanSweep(keys,
                             {{"env.name", {"choice", "chain", "think"}},
                              {"policy.kind", {"tabular", "mlp"}},
                              {"estimator.name", {"grpo", "rloo+adora+dash", "ema_baseline", "grpo+dapo"}},
                              {"train.loss_agg", {"token-mean", "seq-mean-token-mean"}}},
                             2);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  // The diagnostics ran: grad_rel_err is defined at the last eval of every run.
  const Metric* rel = one.FindMetric("grad_rel_err");
  const size_t E = one.steps.size();
  for (int64_t k = 0; k < one.num_runs; ++k) EXPECT_TRUE(std::isfinite(rel->values[k * E + E - 1])) << k;
  // The per-bin shares of the update and of grad J each sum to 1 (all families,
  // both policies, with drift: some bins are not drawn and count 0).
  for (const char* kind : {"update_share_bin", "exact_share_bin"}) {
    for (int64_t k = 0; k < one.num_runs; ++k) {
      double sum = 0.0;
      for (int b = 0; b < 4; ++b) {
        sum += one.FindMetric(kind + std::to_string(b))->values[k * E + E - 1];
      }
      EXPECT_NEAR(sum, 1.0, 1e-9) << kind << " run " << k;
    }
  }
}

// Issue 5: the estimators that keep state or sample more (gae's critic, aapo's
// reference rollouts, remax's greedy responses) and the losses (ppo epochs and
// minibatches, KL in the loss and in the reward, entropy bonus, micro-batches),
// with diagnostics (which copy stateful estimators), on 1 and 3 threads; and a
// run of the sweep equals the same config alone.
TEST(DeterminismTest, LossesAndSamplingEstimatorsDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.prompts", "48"},        {"env.modulus", "5"},          {"env.chain_max_depth", "4"},
      {"env.max_length", "8"},      {"env.max_required", "4"},     {"env.eval_prompts", "16"},
      {"train.steps", "40"},        {"train.eval_every", "20"},    {"train.batch_prompts", "8"},
      {"train.group_size", "4"},    {"optim.lr", "4"},             {"policy.hidden", "8"},
      {"diagnostics.exact_gradient", "true"}, {"diagnostics.samples", "3"},
      {"train.loss", "ppo"},        {"train.epochs", "2"},         {"train.minibatches", "2"},
      {"train.entropy_coef", "0.01"}, {"kl.coef", "0.05"},         {"train.micro_batch", "3"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"env.name", {"chain", "think"}},
                              {"policy.kind", {"tabular", "mlp"}},
                              {"estimator.name", {"gae", "grpo+aapo", "remax"}},
                              {"kl.where", {"loss", "reward"}}},
                             1);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  const size_t E = one.steps.size();
  const int64_t k = one.num_runs - 1;  // the last run, alone
  // Its resolved config, less the keys only other runs of the sweep read (the
  // chain keys on a think run), which a single run refuses.
  std::map<std::string, std::string> own;
  const Config last = plan.RunKeys(k);
  for (const auto& [key, value] : last.values()) {
    const KeySpec& spec = FindKey(key);
    if (!spec.used_by.test || spec.used_by.test(last)) own[key] = value;
  }
  Results alone = RunSweep(PlanSweep(own, {}, 1), 1);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    const std::vector<double> run(one.metrics[i].values.begin() + k * E,
                                  one.metrics[i].values.begin() + (k + 1) * E);
    EXPECT_TRUE(SameBits(run, alone.metrics[i].values)) << one.metrics[i].name;
  }
}

// Issue 11: arms crossed with a grid. The file's bytes do not depend on the
// threads, a run of an arm is its config alone, and the arms share seeds.
TEST(DeterminismTest, ArmsDoNotDependOnThreadsAndEqualTheirConfigAlone) {
  const std::vector<Arm> arms = {
      {"grpo_g8", {{"estimator.name", "grpo"}, {"train.group_size", "8"}}, "--arm grpo_g8"},
      {"aapo_g4", {{"estimator.name", "grpo+aapo"}, {"train.group_size", "4"}}, "--arm aapo_g4"},
      {"adora", {{"estimator.name", "grpo+adora"}, {"estimator.adora_tau", "0.3"}}, "--arm adora"}};
  const std::vector<GridAxis> grid = {{"optim.name", {"sgd", "adam"}}};
  SweepPlan plan = PlanSweep(BaseKeys(), grid, 2, 1, arms);
  ASSERT_EQ(plan.num_runs(), 12u);
  const std::string dir = ::testing::TempDir();
  std::string reference;
  Results two;
  for (int threads : {1, 2}) {
    Results r = RunSweep(plan, threads);
    const std::string path =
        dir + "/det_arms_" + std::to_string(getpid()) + "_" + std::to_string(threads) + ".h5";
    WriteResultsFile(r, path);
    const std::string bytes = FileBytes(path);
    std::remove(path.c_str());
    ASSERT_FALSE(bytes.empty());
    if (reference.empty()) reference = bytes;
    else EXPECT_TRUE(bytes == reference) << "threads=" << threads << " changed the file bytes";
    two = std::move(r);
  }
  const size_t E = two.steps.size();
  for (size_t k : {1u, 6u, 11u}) {  // grpo_g8/sgd seed 1, aapo_g4/sgd seed 0, adora/adam seed 1
    std::map<std::string, std::string> keys = BaseKeys();
    for (const auto& [key, value] : arms[plan.ArmOf(k)].keys) keys[key] = value;
    keys["optim.name"] = plan.SweptValue(k, 0);
    keys["seed"] = std::to_string(plan.SeedOf(k));
    EXPECT_EQ(plan.SeedOf(k), k % 2);  // the same seeds in every arm
    Results alone = RunSweep(PlanSweep(keys, {}, 1), 1);
    for (size_t i = 0; i < two.metrics.size(); ++i) {
      std::vector<double> row(two.metrics[i].values.begin() + k * E,
                              two.metrics[i].values.begin() + (k + 1) * E);
      EXPECT_TRUE(SameBits(row, alone.metrics[i].values))
          << "run " << k << " metric " << two.metrics[i].name;
    }
  }
}

// Issue 11's cost model: AAPO's cached reference rollouts (keyed by prompt on
// the training key, with answer re-randomisation and verifier noise) and DASH's
// `generated` normaliser, with diagnostics (which must not fill the cache), on
// 1 and 2 threads.
TEST(DeterminismTest, CachedReferenceAndDashNormalizerDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.prompts", "24"},           {"env.modulus", "5"},          {"env.chain_max_depth", "4"},
      {"env.max_length", "8"},         {"env.max_required", "4"},     {"env.eval_prompts", "16"},
      {"env.answer_rate", "0.1"},      {"env.false_positive", "0.05"},
      {"train.steps", "40"},           {"train.eval_every", "20"},    {"train.batch_prompts", "8"},
      {"train.group_size", "4"},       {"optim.lr", "4"},             {"policy.hidden", "8"},
      {"diagnostics.exact_gradient", "true"}, {"diagnostics.samples", "3"},
      {"estimator.aapo_reference", "cached"}, {"estimator.dash_normalizer", "generated"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"env.name", {"choice", "chain", "think"}},
                              {"policy.kind", {"tabular", "mlp"}},
                              {"estimator.name", {"grpo+aapo+dash", "rloo+dash+aapo"}}},
                             1);
  Results one = RunSweep(plan, 1), two = RunSweep(plan, 2);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, two.metrics[i].values)) << one.metrics[i].name;
  }
}

// Issue 11: train.match_update (a second estimator, a second gradient per
// minibatch, a stateful baseline) on every family and policy, with ppo's
// minibatches, clipping and the diagnostics, on 1 and 2 threads.
TEST(DeterminismTest, MatchedUpdatesDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.prompts", "48"},        {"env.modulus", "5"},          {"env.chain_max_depth", "4"},
      {"env.max_length", "8"},      {"env.max_required", "4"},     {"env.eval_prompts", "16"},
      {"train.steps", "30"},        {"train.eval_every", "10"},    {"train.batch_prompts", "8"},
      {"train.group_size", "4"},    {"optim.lr", "4"},             {"policy.hidden", "8"},
      {"diagnostics.exact_gradient", "true"}, {"diagnostics.samples", "3"},
      {"train.loss", "ppo"},        {"train.minibatches", "2"},    {"optim.max_grad_norm", "0.5"},
      {"estimator.name", "grpo+adora+dash"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"env.name", {"choice", "chain", "think"}},
                              {"policy.kind", {"tabular", "mlp"}},
                              {"train.match_update", {"grpo", "ema_baseline"}}},
                             1);
  Results one = RunSweep(plan, 1), two = RunSweep(plan, 2);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, two.metrics[i].values)) << one.metrics[i].name;
  }
}

// Issue 11: the history-dependent drift (the accuracy curriculum, whose checks
// read the oracle; remove-then-reintroduce) and the bins' entry steps, on every
// family, tabular and MLP, with the exact-gradient diagnostics, on 1 and 3 threads.
TEST(DeterminismTest, CurriculumAndReintroduceDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.prompts", "48"},          {"env.answers", "4"},           {"env.modulus", "5"},
      {"env.chain_max_depth", "4"},   {"env.max_length", "8"},        {"env.max_required", "4"},
      {"env.eval_prompts", "16"},     {"env.answer_rate", "0.01"},    {"train.steps", "60"},
      {"train.eval_every", "20"},     {"train.batch_prompts", "8"},   {"train.group_size", "4"},
      {"optim.lr", "4"},              {"policy.hidden", "8"},         {"env.drift_check_every", "3"},
      {"env.drift_threshold", "0.3"}, {"env.drift_remove_at", "10"},  {"env.drift_remove_for", "25"},
      {"diagnostics.exact_gradient", "true"}, {"diagnostics.samples", "2"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"env.name", {"choice", "chain", "think"}},
                              {"policy.kind", {"tabular", "mlp"}},
                              {"env.drift", {"accuracy", "reintroduce"}}},
                             2);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  // The schedules acted: some run's hardest bin entered after step 0 (curriculum).
  const Metric* entry3 = one.FindMetric("entry_step_bin3");
  bool late = false;
  for (double v : entry3->values) late = late || v > 0.0;
  EXPECT_TRUE(late);
}

TEST(DeterminismTest, SeedsAndConfigsChangeResults) {
  // Guards against a contract met trivially (e.g. randomness ignored).
  auto acc = [](std::map<std::string, std::string> keys) {
    return RunSweep(PlanSweep(keys, {}, 1), 1).FindMetric("train_reward")->values;
  };
  auto a = BaseKeys();
  auto b = a;
  b["seed"] = "1";
  auto c = a;
  c["estimator.name"] = "rloo";
  EXPECT_FALSE(SameBits(acc(a), acc(b)));
  EXPECT_FALSE(SameBits(acc(a), acc(c)));
  EXPECT_TRUE(SameBits(acc(a), acc(a)));
}

// Issue 11: think's overthinking rule under a verbose prior (the regime of
// experiments/presets/verbose_start.ini), with ADORA's length criterion and
// its metrics (adora_weight, tas_mixed_frac), on 1 and 3 threads.
TEST(DeterminismTest, ThinkOverthinkingAndAdoraMetricsDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.name", "think"},        {"env.prompts", "32"},          {"env.max_length", "10"},
      {"env.max_required", "5"},    {"env.think_logit", "5"},       {"env.answer_logit", "3"},
      {"env.think_slack", "2"},     {"estimator.adora_criterion", "length"},
      {"estimator.adora_mode", "attenuate"}, {"train.steps", "40"}, {"train.eval_every", "20"},
      {"train.batch_prompts", "8"}, {"train.group_size", "4"},       {"optim.lr", "4"},
      {"policy.hidden", "8"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"policy.kind", {"tabular", "mlp"}},
                              {"estimator.name", {"grpo", "grpo+adora"}},
                              {"train.loss_agg", {"seq-mean-token-mean", "seq-mean-token-sum"}}},
                             2);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  // The ADORA runs judged groups: adora_weight is defined at the last eval.
  const Metric* w = one.FindMetric("adora_weight");
  ASSERT_NE(w, nullptr);
  const size_t E = one.steps.size();
  int defined = 0;
  for (int64_t k = 0; k < one.num_runs; ++k) defined += std::isfinite(w->values[k * E + E - 1]);
  EXPECT_EQ(defined, one.num_runs / 2);
}

// Issue 12 (ADORA A4): static labels (pi_0's exact judgement, computed at
// Bind) and the per-prompt label memory of adora_flip_frac, under answer drift,
// a noisy verifier, the diagnostics' cloned estimator and train.match_update,
// on 1 and 3 threads. Static labels never flip.
TEST(DeterminismTest, AdoraLabelModesDoNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.name", "choice"},          {"env.prompts", "32"},           {"env.answers", "4"},
      {"env.answer_rate", "0.02"},     {"env.false_positive", "0.05"},  {"train.steps", "40"},
      {"train.eval_every", "20"},      {"train.batch_prompts", "8"},    {"train.group_size", "4"},
      {"optim.lr", "4"},               {"estimator.name", "grpo+adora"},
      {"train.match_update", "grpo"},  {"diagnostics.exact_gradient", "true"},
      {"diagnostics.samples", "3"},    {"policy.hidden", "8"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"policy.kind", {"tabular", "mlp"}},
                              {"estimator.adora_labels", {"dynamic", "static"}}},
                             2);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  const Metric* flip = one.FindMetric("adora_flip_frac");
  ASSERT_NE(flip, nullptr);
  const size_t E = one.steps.size();
  for (int64_t k = 0; k < one.num_runs; ++k) {
    const double last = flip->values[k * E + E - 1];
    if (plan.SweptValue(k, 1) == "static") EXPECT_EQ(last, 0.0) << k;
    else EXPECT_GT(last, 0.0) << k;
  }
}

// Issue 14: the second-generation zoo. Stateful trackers (spo, krpo_persistent),
// oracle baselines (optimal, optimal_token), the answer-entropy modifier, the
// batch-prepass losses (clip_cov draws its tokens from Philox) and the adaptive
// KL controller, with diagnostics (a cloned estimator, the optimal reference
// pass): the same bits on 1 and 3 threads.
TEST(DeterminismTest, ZooDoesNotDependOnThreads) {
  std::map<std::string, std::string> keys = {
      {"env.name", "think"},         {"env.prompts", "32"},       {"env.max_length", "8"},
      {"env.max_required", "4"},     {"train.steps", "30"},
      {"train.eval_every", "10"},    {"train.batch_prompts", "8"}, {"train.group_size", "4"},
      {"optim.lr", "4"},             {"policy.hidden", "8"},      {"train.epochs", "2"},
      {"train.minibatches", "2"},    {"kl.coef", "0.05"},         {"kl.where", "reward"},
      {"kl.target", "0.01"},         {"kl.horizon", "1000"},
      {"diagnostics.exact_gradient", "true"}, {"diagnostics.samples", "3"}};
  SweepPlan plan = PlanSweep(keys,
                             {{"estimator.name", {"spo", "krpo_persistent", "optimal",
                                                  "optimal_token", "grpo+seed_grpo", "bnpo",
                                                  "pkpo", "qae"}},
                              {"train.loss", {"clip_cov", "kl_cov"}},
                              {"policy.kind", {"tabular", "mlp"}}},
                             1);
  Results one = RunSweep(plan, 1), three = RunSweep(plan, 3);
  for (size_t i = 0; i < one.metrics.size(); ++i) {
    EXPECT_TRUE(SameBits(one.metrics[i].values, three.metrics[i].values)) << one.metrics[i].name;
  }
  // The zoo's oracle metrics are defined where they should be.
  const size_t rmse = static_cast<size_t>(MetricIndex("baseline_rmse"));
  bool defined = false;
  for (double v : one.metrics[rmse].values) defined = defined || !std::isnan(v);
  EXPECT_TRUE(defined);
}

}  // namespace
}  // namespace advlab
