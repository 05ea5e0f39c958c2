// Policy losses and regularisers: PPO-clip (dual clip, clip-higher), the KL to
// the initial policy (k1/k2/k3, in the loss or in the reward), the entropy
// bonus, and micro-batched gradient accumulation.
//   - the per-token functions against the reference vectors (estimators.md
//     §3.1, §5.1);
//   - the loop's gradient against finite differences of the loss it claims to
//     differentiate (off-policy, so ratios and KL are not trivial), tabular and
//     MLP, every aggregation mode;
//   - PPO with one epoch and one minibatch is pg, bit for bit;
//   - micro-batches give the same update as one batch, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "losses/ppo.h"
#include "sim/loop.h"

namespace advlab {
namespace {

constexpr double kLn2 = 0.69314718055994530942;

// ---- §3.1: PPO-clip per token -------------------------------------------------

struct PpoRow {
  double adv, ratio;
  double l_eps02_c3, l_high028_c3, l_eps02_c10;
  double grad;  // dl/dlog pi at eps 0.2, c 3
};

TEST(PolicyLossTest, PpoTokenLossMatchesVerlVectors) {
  const PpoRow rows[] = {
      {+1, 1.5, -1.2, -1.28, -1.2, 0.0},   {+1, 0.5, -0.5, -0.5, -0.5, -0.5},
      {-1, 0.5, 0.8, 0.8, 0.8, 0.0},       {-1, 1.5, 1.5, 1.5, 1.5, 1.5},
      {-1, 4.0, 3.0, 3.0, 4.0, 0.0},       {+1, 1.0, -1.0, -1.0, -1.0, -1.0},
      {-1, 1.0, 1.0, 1.0, 1.0, 1.0},       {+1, 1.25, -1.2, -1.25, -1.2, 0.0},
  };
  double loss_sum = 0.0, neg_log_ratio = 0.0;
  int clipped = 0, lower = 0;
  for (const PpoRow& row : rows) {
    const double lr = std::log(row.ratio);
    const PpoToken a = PpoTokenLoss(row.adv, lr, 0.2, 0.2, 3.0);
    const PpoToken b = PpoTokenLoss(row.adv, lr, 0.2, 0.28, 3.0);
    const PpoToken c = PpoTokenLoss(row.adv, lr, 0.2, 0.2, 10.0);
    EXPECT_NEAR(a.loss, row.l_eps02_c3, 1e-6) << row.adv << " " << row.ratio;
    EXPECT_NEAR(b.loss, row.l_high028_c3, 1e-6) << row.adv << " " << row.ratio;
    EXPECT_NEAR(c.loss, row.l_eps02_c10, 1e-6) << row.adv << " " << row.ratio;
    EXPECT_NEAR(a.dlogp, row.grad, 1e-12) << row.adv << " " << row.ratio;
    loss_sum += a.loss;
    neg_log_ratio -= lr;
    clipped += a.clipped ? 1 : 0;
    lower += a.dual_clipped ? 1 : 0;
  }
  // The 8 tokens as one row, token-mean.
  EXPECT_NEAR(loss_sum / 8, 0.300000, 1e-6);
  EXPECT_EQ(clipped / 8.0, 0.375);  // pg_clipfrac
  EXPECT_EQ(lower / 8.0, 0.125);    // pg_clipfrac_lower
  EXPECT_NEAR(neg_log_ratio / 8, -0.129259, 1e-6);  // ppo_kl
  // The (+1, 1.25) token is inside [0.8, 1.28]: with clip-higher it has a gradient.
  EXPECT_NEAR(PpoTokenLoss(1.0, std::log(1.25), 0.2, 0.28, 3.0).dlogp, -1.25, 1e-12);
  // Dual clip off (c = 0): a negative token's loss grows with the ratio.
  EXPECT_NEAR(PpoTokenLoss(-1.0, std::log(4.0), 0.2, 0.2, 0.0).loss, 4.0, 1e-12);
  // At ratio 1 exactly the coefficient is -A: pg's.
  EXPECT_EQ(PpoTokenLoss(0.37, 0.0, 0.2, 0.28, 3.0).dlogp, -0.37);
  // The log-ratio clamp at +-20 stops the gradient.
  EXPECT_EQ(PpoTokenLoss(-1.0, 25.0, 0.2, 0.2, 0.0).dlogp, 0.0);
}

// ---- §5.1: KL estimators --------------------------------------------------------

TEST(PolicyLossTest, KlPenaltyMatchesVerlVectors) {
  const double x[] = {kLn2, -kLn2, 0.0};
  const double k1[] = {0.693147, -0.693147, 0.0};
  const double k2[] = {0.240227, 0.240227, 0.0};
  const double k3[] = {0.193147, 0.306853, 0.0};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(KlPenalty(KlEstimator::kK1, x[i]).value, k1[i], 1e-6);
    EXPECT_NEAR(KlPenalty(KlEstimator::kK2, x[i]).value, k2[i], 1e-6);
    EXPECT_NEAR(KlPenalty(KlEstimator::kK3, x[i]).value, k3[i], 1e-6);
    // Gradients: 1, x, 1 - pi_ref / pi = 1 - e^{-x}.
    EXPECT_EQ(KlPenalty(KlEstimator::kK1, x[i]).dlogp, 1.0);
    EXPECT_EQ(KlPenalty(KlEstimator::kK2, x[i]).dlogp, x[i]);
    EXPECT_NEAR(KlPenalty(KlEstimator::kK3, x[i]).dlogp, 1.0 - std::exp(-x[i]), 1e-15);
  }
  // k3 at x = ln 2 is 1 - 1/2; at -ln 2, 1 - 2.
  EXPECT_NEAR(KlPenalty(KlEstimator::kK3, kLn2).dlogp, 0.5, 1e-15);
  EXPECT_NEAR(KlPenalty(KlEstimator::kK3, -kLn2).dlogp, -1.0, 1e-15);
  // verl's clamps: the value at most 10, with no gradient there.
  const KlToken big = KlPenalty(KlEstimator::kK3, -30.0);
  EXPECT_EQ(big.value, 10.0);
  EXPECT_EQ(big.dlogp, 0.0);
}

// ---- the loop's gradient vs finite differences ---------------------------------

using Keys = std::map<std::string, std::string>;

RunConfig Make(Keys keys) {
  return RunConfig::FromConfig(Config::Resolve(keys));
}

// The loss MinibatchGradient differentiates, evaluated directly at the
// current parameters: sum over kept tokens of w_t [l_t + kl_coef k(x_t)]
// - entropy_coef w_t H(s_t).
double LossValue(const RunConfig& rc, RunState* st, const Batch& b) {
  Policy& pi = *st->policy;
  const bool filtered = !b.kept.empty();
  int R = 0, T = 0;
  for (int r = 0; r < b.num_rollouts(); ++r) {
    if (!filtered || b.kept[r]) {
      R += 1;
      T += b.length(r);
    }
  }
  const double scale = rc.loss_scale > 0 ? rc.loss_scale : st->task->max_length();
  double loss = 0.0;
  for (int r = 0; r < b.num_rollouts(); ++r) {
    if (filtered && !b.kept[r]) continue;
    const double w = TokenWeight(rc.loss_agg, b.length(r), R, T, scale);
    // The policy loss through the registered loss's own value.
    std::vector<double> lp(b.length(r));
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      lp[t - b.token_begin[r]] = pi.LogProbs(b.state[t])[b.token[t]];
    }
    LossRollout view;
    view.len = b.length(r);
    view.weight = w;
    view.advantage = b.advantage[r];
    view.token_advantage = b.token_advantage.empty() ? nullptr : &b.token_advantage[b.token_begin[r]];
    view.logprob_old = &b.logprob[b.token_begin[r]];
    view.logprob = lp.data();
    loss += st->loss->Value(view);
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      double k = 0.0;
      if (rc.kl_coef > 0 && !rc.kl_in_reward) {
        k = rc.kl_coef * KlPenalty(rc.kl_estimator, lp[t - b.token_begin[r]] -
                                                        st->reference->LogProbs(b.state[t])[b.token[t]])
                             .value;
      }
      loss += w * k - rc.entropy_coef * w * pi.Entropy(b.state[t]);
    }
  }
  return loss;
}

// Samples a batch at theta_old, moves the parameters away (so ratios and the KL
// are not 1 and 0), and compares the gradient with central differences.
// Returns the number of tokens where a ppo clip was active.
int64_t ExpectGradientMatchesFiniteDifferences(Keys keys, double tol) {
  SCOPED_TRACE(::testing::PrintToString(keys));
  const RunConfig rc = Make(keys);
  RunState st;
  InitRun(rc, &st);
  st.task->Advance(0);
  SampleBatch(rc, &st, st.rng, 0, &st.batch);
  PrepareBatch(rc, &st, &st.batch);
  Policy& pi = *st.policy;
  const int64_t n = pi.num_params();
  for (int64_t i = 0; i < n; ++i) pi.params()[i] += 0.4 * std::sin(1.7 * i + 0.3);
  pi.ParamsChanged();
  StepStats stats;
  MinibatchGradient(rc, &st, st.batch, 0, st.batch.num_groups(), &st.grad, &stats);
  std::vector<double> grad;
  st.grad.ToDense(1.0, &grad);
  const double h = 1e-6;
  double max_err = 0.0, max_grad = 0.0;
  const int64_t stride = n > 400 ? n / 400 : 1;
  for (int64_t i = 0; i < n; i += stride) {
    const double keep = pi.params()[i];
    pi.params()[i] = keep + h;
    pi.ParamsChanged();
    const double up = LossValue(rc, &st, st.batch);
    pi.params()[i] = keep - h;
    pi.ParamsChanged();
    const double down = LossValue(rc, &st, st.batch);
    pi.params()[i] = keep;
    pi.ParamsChanged();
    const double fd = (up - down) / (2 * h);
    max_err = std::max(max_err, std::fabs(fd - grad[i]));
    max_grad = std::max(max_grad, std::fabs(grad[i]));
  }
  EXPECT_GT(max_grad, 1e-4);  // something to compare
  EXPECT_LT(max_err, tol * max_grad);
  return stats.clipped;
}

TEST(PolicyLossTest, GradientMatchesFiniteDifferencesTabular) {
  const Keys base = {{"env.name", "chain"},       {"env.prompts", "24"},
                     {"train.batch_prompts", "6"}, {"train.group_size", "4"},
                     {"train.loss", "ppo"},        {"train.clip_high", "0.28"}};
  int64_t clipped = 0;
  for (const char* agg : {"token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
                          "seq-mean-token-sum-norm"}) {
    for (const char* kl : {"k1", "k2", "k3"}) {
      Keys k = base;
      k["train.loss_agg"] = agg;
      k["kl.coef"] = "0.3";
      k["kl.estimator"] = kl;
      k["train.entropy_coef"] = "0.05";
      clipped += ExpectGradientMatchesFiniteDifferences(k, 1e-6);
    }
  }
  EXPECT_GT(clipped, 0);  // the clipped branches were exercised
  // pg with the regularisers and a filter (dropped rollouts leave the loss).
  ExpectGradientMatchesFiniteDifferences({{"env.name", "chain"},
                                          {"env.prompts", "24"},
                                          {"train.batch_prompts", "6"},
                                          {"train.group_size", "4"},
                                          {"estimator.name", "rloo+dash"},
                                          {"kl.coef", "0.2"},
                                          {"train.entropy_coef", "-0.03"}},
                                         1e-6);
  // think's long responses: the regularisers act on every visited state.
  ExpectGradientMatchesFiniteDifferences({{"env.name", "think"},
                                          {"env.prompts", "24"},
                                          {"train.batch_prompts", "4"},
                                          {"train.group_size", "4"},
                                          {"train.loss_agg", "seq-mean-token-mean"},
                                          {"kl.coef", "0.2"},
                                          {"kl.estimator", "k2"},
                                          {"train.entropy_coef", "0.1"}},
                                         1e-6);
}

TEST(PolicyLossTest, GradientMatchesFiniteDifferencesMlp) {
  ExpectGradientMatchesFiniteDifferences({{"env.name", "chain"},
                                          {"env.prompts", "24"},
                                          {"train.batch_prompts", "4"},
                                          {"train.group_size", "4"},
                                          {"policy.kind", "mlp"},
                                          {"policy.hidden", "8"},
                                          {"train.loss", "ppo"},
                                          {"train.loss_agg", "seq-mean-token-mean"},
                                          {"kl.coef", "0.5"},
                                          {"train.entropy_coef", "0.05"}},
                                         1e-5);
}

// ---- bit-for-bit identities ----------------------------------------------------

// Runs `steps` steps; returns the parameters and every metric of the eval.
std::pair<std::vector<double>, std::vector<double>> Trajectory(const Keys& keys, int steps) {
  const RunConfig rc = Make(keys);
  RunState st;
  InitRun(rc, &st);
  for (int i = 0; i < steps; ++i) Step(rc, &st);
  std::vector<double> metrics(MetricNames().size());
  Evaluate(rc, &st, metrics.data());
  return {std::vector<double>(st.policy->params(), st.policy->params() + st.policy->num_params()),
          metrics};
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }


// Every metric but the `skip`ped ones has the same bits.
void ExpectSameRun(const std::pair<std::vector<double>, std::vector<double>>& a,
                   const std::pair<std::vector<double>, std::vector<double>>& b,
                   const std::vector<std::string>& skip) {
  ASSERT_EQ(a.first.size(), b.first.size());
  for (size_t i = 0; i < a.first.size(); ++i) {
    ASSERT_TRUE(SameBits(a.first[i], b.first[i])) << "param " << i;
  }
  for (size_t i = 0; i < a.second.size(); ++i) {
    bool skipped = false;
    for (const auto& s : skip) skipped = skipped || MetricIndex(s) == static_cast<int>(i);
    if (skipped) continue;
    EXPECT_TRUE(SameBits(a.second[i], b.second[i])) << MetricNames()[i];
  }
}

Keys With(Keys keys, const std::string& key, const std::string& value) {
  keys[key] = value;
  return keys;
}

// PPO with one epoch and one minibatch is on-policy: ratio 1, every clip
// inactive, the coefficient -A w: pg bit for bit.
TEST(PolicyLossTest, PpoWithOneEpochIsPg) {
  const std::vector<Keys> configs = {
      {{"env.prompts", "64"}, {"train.batch_prompts", "16"}, {"optim.lr", "8"}},
      {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "8"},
       {"train.loss_agg", "seq-mean-token-mean"}, {"optim.name", "adam"}, {"optim.lr", "0.05"}},
      {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "8"},
       {"policy.kind", "mlp"}, {"policy.hidden", "16"}, {"optim.lr", "1"},
       {"kl.coef", "0.1"}, {"train.entropy_coef", "0.01"}},
  };
  for (const Keys& keys : configs) {
    SCOPED_TRACE(::testing::PrintToString(keys));
    const auto pg = Trajectory(keys, 30);
    const auto ppo = Trajectory(With(keys, "train.loss", "ppo"), 30);
    ExpectSameRun(pg, ppo, {"clip_frac"});
    EXPECT_EQ(ppo.second[MetricIndex("clip_frac")], 0.0);
  }
}

// Off-policy reuse moves away from pg, and clips.
TEST(PolicyLossTest, PpoEpochsAndMinibatchesReuseTheBatch) {
  const Keys keys = {{"env.prompts", "64"}, {"train.batch_prompts", "16"}, {"optim.lr", "8"},
                     {"train.loss", "ppo"}};
  const auto one = Trajectory(keys, 20);
  const auto many = Trajectory(With(With(keys, "train.epochs", "3"), "train.minibatches", "4"), 20);
  EXPECT_NE(one.first, many.first);
  EXPECT_GT(many.second[MetricIndex("clip_frac")], 0.0);
  // A sweep-level determinism check: the same config again, the same bits.
  ExpectSameRun(many, Trajectory(With(With(keys, "train.epochs", "3"), "train.minibatches", "4"),
                                 20),
                {});
}

// DASH's preemptive sampling: one large batch, gradients accumulated over
// micro-batches. Every update, metric and parameter is the same bit for bit;
// only the simulated cost changes.
TEST(PolicyLossTest, MicroBatchesGiveTheOneBatchUpdate) {
  const std::vector<Keys> configs = {
      {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "16"},
       {"estimator.name", "grpo+dash"}, {"optim.lr", "8"}},
      {{"env.name", "think"}, {"env.prompts", "64"}, {"train.batch_prompts", "8"},
       {"train.loss_agg", "seq-mean-token-mean"}, {"kl.coef", "0.05"}, {"kl.where", "reward"},
       {"kl.estimator", "k1"}, {"optim.lr", "8"}},
      {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "8"},
       {"policy.kind", "mlp"}, {"policy.hidden", "16"}, {"train.loss", "ppo"},
       {"train.epochs", "2"}, {"train.minibatches", "2"}, {"kl.coef", "0.1"},
       {"train.entropy_coef", "0.01"}, {"optim.name", "adam"}, {"optim.lr", "0.01"}},
  };
  for (const Keys& keys : configs) {
    SCOPED_TRACE(::testing::PrintToString(keys));
    const auto whole = Trajectory(keys, 15);
    for (const char* mb : {"1", "3", "7"}) {
      const auto micro = Trajectory(With(keys, "train.micro_batch", mb), 15);
      ExpectSameRun(whole, micro, {"sim_cost"});
      EXPECT_GT(micro.second[MetricIndex("sim_cost")], whole.second[MetricIndex("sim_cost")]);
    }
  }
}

// kl.where = reward: the estimator sees R - coef sum_t k1(x_t); train_reward
// stays the verifier's. At the first step pi = pi_0, so the run must go on a
// while before the penalty is non-zero: check the penalty by hand at step 20.
TEST(PolicyLossTest, KlInRewardShapesWhatTheEstimatorSees) {
  const RunConfig rc = Make({{"env.name", "chain"},
                             {"env.prompts", "32"},
                             {"train.batch_prompts", "8"},
                             {"estimator.name", "reinforce"},
                             {"kl.coef", "0.5"},
                             {"kl.where", "reward"},
                             {"kl.estimator", "k1"},
                             {"optim.lr", "8"}});
  RunState st;
  InitRun(rc, &st);
  for (int i = 0; i < 20; ++i) Step(rc, &st);
  st.task->Advance(st.step);
  SampleBatch(rc, &st, st.rng, st.step, &st.batch);
  const std::vector<double> scores = ToVector(st.batch.reward);
  const StepStats ss = PrepareBatch(rc, &st, &st.batch);
  const Batch& b = st.batch;
  ASSERT_EQ(b.token_reward.size(), static_cast<size_t>(b.num_tokens()));
  EXPECT_EQ(b.reward, scores);  // the verifier's rewards are back
  double score_sum = 0.0, max_penalty = 0.0;
  for (int r = 0; r < b.num_rollouts(); ++r) {
    double penalty = 0.0;
    for (int t = b.token_begin[r]; t < b.token_begin[r + 1]; ++t) {
      const double x = b.logprob[t] - st.reference->LogProbs(b.state[t])[b.token[t]];
      EXPECT_EQ(b.token_reward[t], -0.5 * x);
      penalty += -0.5 * x;
    }
    EXPECT_EQ(b.advantage[r], scores[r] + penalty);  // reinforce: A = R
    max_penalty = std::max(max_penalty, std::fabs(penalty));
    score_sum += scores[r];
  }
  EXPECT_GT(max_penalty, 1e-3);
  EXPECT_EQ(ss.reward_sum, score_sum);
  EXPECT_EQ(ss.kl_tokens, b.num_tokens());
}

// The KL loss pulls the policy back towards pi_0: the same run with a large
// kl.coef ends with a smaller measured KL.
TEST(PolicyLossTest, KlLossKeepsThePolicyNearTheReference) {
  const Keys keys = {{"env.name", "chain"}, {"env.prompts", "64"}, {"train.batch_prompts", "16"},
                     {"optim.lr", "8"}, {"kl.coef", "0.001"}};
  const double free_kl = Trajectory(keys, 100).second[MetricIndex("kl_init")];
  const double held_kl = Trajectory(With(keys, "kl.coef", "2"), 100).second[MetricIndex("kl_init")];
  EXPECT_GT(free_kl, 0.0);
  EXPECT_LT(held_kl, 0.5 * free_kl);
}

// The entropy bonus keeps entropy up, a negative one brings it down.
TEST(PolicyLossTest, EntropyBonusMovesEntropy) {
  const Keys keys = {{"env.prompts", "64"}, {"train.batch_prompts", "16"}, {"optim.lr", "8"}};
  const double plain = Trajectory(keys, 100).second[MetricIndex("entropy")];
  const double bonus =
      Trajectory(With(keys, "train.entropy_coef", "0.5"), 100).second[MetricIndex("entropy")];
  const double malus =
      Trajectory(With(keys, "train.entropy_coef", "-0.5"), 100).second[MetricIndex("entropy")];
  EXPECT_GT(bonus, plain);
  EXPECT_LT(malus, plain);
}

}  // namespace
}  // namespace advlab
