#include "sim/loop.h"

#include <cmath>
#include <limits>

#include "sim/check.h"
#include "sim/features.h"
#include "sim/error.h"
#include "sim/softmax.h"

namespace advlab {
namespace {

template <class R>
std::vector<std::string> NamesOf() {
  return R::Get().Names();
}

}  // namespace

ADVLAB_REGISTER_KEY(seed, KeySpec{"seed", KeyType::kInt, "0",
                                  "run seed: keys the Philox stream (task instance and all draws)",
                                  0, 4294967295.0, false, {}, {}});
ADVLAB_REGISTER_KEY(env_name, KeySpec{"env.name", KeyType::kString, "choice",
                                      "task family (`advlab list envs`)", -1e300, 1e300, false, {},
                                      NamesOf<TaskRegistry>});
ADVLAB_REGISTER_KEY(env_prompts, KeySpec{"env.prompts", KeyType::kInt, "1024",
                                         "prompts in the task's pool (P)", 1, 1e8, false, {}, {}});
ADVLAB_REGISTER_KEY(train_steps, KeySpec{"train.steps", KeyType::kInt, "1000",
                                         "training steps", 1, 1e10, false, {}, {}});
ADVLAB_REGISTER_KEY(train_batch_prompts, KeySpec{"train.batch_prompts", KeyType::kInt, "64",
                                                 "prompts per step (B)", 1, 1e7, false, {}, {}});
ADVLAB_REGISTER_KEY(train_group_size, KeySpec{"train.group_size", KeyType::kInt, "8",
                                              "rollouts per prompt (G)", 1, 1e6, false, {}, {}});
ADVLAB_REGISTER_KEY(train_eval_every, KeySpec{"train.eval_every", KeyType::kInt, "50",
                                              "steps between eval points", 1, 1e10, false, {}, {}});
ADVLAB_REGISTER_KEY(train_loss_agg,
                    KeySpec{"train.loss_agg", KeyType::kString, "token-mean",
                            "loss aggregation (estimators.md §4)", -1e300, 1e300, false,
                            {"token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
                             "seq-mean-token-sum-norm"},
                            {}});
ADVLAB_REGISTER_KEY(train_loss_scale,
                    KeySpec{"train.loss_scale", KeyType::kFloat, "0",
                            "seq-mean-token-sum-norm divisor (0: the task's max length)", 0, 1e12,
                            false, {}, {}});
ADVLAB_REGISTER_KEY(policy_kind, KeySpec{"policy.kind", KeyType::kString, "tabular",
                                         "policy (`advlab list policies`)", -1e300, 1e300, false,
                                         {}, NamesOf<PolicyRegistry>});
ADVLAB_REGISTER_KEY(optim_name, KeySpec{"optim.name", KeyType::kString, "sgd",
                                        "optimizer: sgd or adam", -1e300, 1e300, false, {},
                                        NamesOf<OptimizerRegistry>});
ADVLAB_REGISTER_KEY(estimator_name, KeySpec{"estimator.name", KeyType::kString, "grpo",
                                            "advantage estimator (`advlab list estimators`)",
                                            -1e300, 1e300, false, {}, NamesOf<EstimatorRegistry>});
ADVLAB_REGISTER_KEY(eval_pass_k, KeySpec{"eval.pass_k", KeyType::kInt, "8",
                                         "k of the pass@k metric (exact: 1 - (1 - p)^k)", 1, 1e6,
                                         false, {}, {}});

RunConfig RunConfig::FromConfig(const Config& config) {
  RunConfig rc;
  rc.config = config;
  rc.seed = static_cast<uint64_t>(config.Int("seed"));
  rc.steps = config.Int("train.steps");
  rc.eval_every = config.Int("train.eval_every");
  rc.batch_prompts = static_cast<int>(config.Int("train.batch_prompts"));
  rc.group_size = static_cast<int>(config.Int("train.group_size"));
  const std::string& agg = config.Str("train.loss_agg");
  rc.loss_agg = agg == "seq-mean-token-sum"        ? LossAgg::kSeqMeanTokenSum
                : agg == "seq-mean-token-mean"     ? LossAgg::kSeqMeanTokenMean
                : agg == "seq-mean-token-sum-norm" ? LossAgg::kSeqMeanTokenSumNorm
                                                   : LossAgg::kTokenMean;
  rc.loss_scale = config.Float("train.loss_scale");
  rc.pass_k = static_cast<int>(config.Int("eval.pass_k"));

  const EstimatorEntry* est = EstimatorRegistry::Get().Find(config.Str("estimator.name"));
  ADVLAB_CHECK(est != nullptr);  // Config::Resolve validated the name
  if (est->needs_groups && rc.group_size < 2) {
    throw UserError("train.group_size = " + std::to_string(rc.group_size) + " with estimator.name = " +
                    est->name +
                    ", which compares the rollouts of a group: use train.group_size >= 2 (or "
                    "estimator.name = reinforce)");
  }
  if (static_cast<int64_t>(rc.batch_prompts) * rc.group_size > (int64_t{1} << 30)) {
    throw UserError("train.batch_prompts x train.group_size = " +
                    std::to_string(static_cast<int64_t>(rc.batch_prompts) * rc.group_size) +
                    " rollouts per step is too large; allowed: at most 2^30");
  }
  return rc;
}

std::vector<int64_t> RunConfig::EvalSteps() const {
  std::vector<int64_t> out;
  for (int64_t t = 0; t < steps; t += eval_every) out.push_back(t);
  out.push_back(steps);
  return out;
}

const std::vector<std::string>& MetricNames() {
  static const std::vector<std::string> names = {
      "accuracy",      "accuracy_bin0",  "accuracy_bin1",   "accuracy_bin2",
      "accuracy_bin3", "pass_at_k",      "entropy",         "kl_init",
      "train_reward",  "response_length", "zero_adv_frac", "same_reward_group_frac",
      "kept_frac",     "tokens_backprop", "grad_norm"};
  return names;
}

void InitRun(const RunConfig& rc, RunState* st) {
  const Config& c = rc.config;
  st->step = 0;
  st->rng = Philox(rc.seed);
  st->task = TaskRegistry::Get().Find(c.Str("env.name"))->make(c, rc.seed);
  st->policy = PolicyRegistry::Get().Find(c.Str("policy.kind"))->make(c, *st->task);
  st->optimizer =
      OptimizerRegistry::Get().Find(c.Str("optim.name"))->make(c, st->policy->num_params());
  st->estimator = EstimatorRegistry::Get().Find(c.Str("estimator.name"))->make();
  st->grad.Init(st->policy->num_params(), st->policy->grad_block_size());
  st->prompts.assign(rc.batch_prompts, 0);

  // pi_0 at the first decision of every eval prompt, for the KL metric.
  const Task& task = *st->task;
  const int K = task.num_actions();
  const auto& eval = task.eval_prompts();
  st->init_logprobs.assign(eval.size() * K, 0.0);
  std::vector<double> z(K), p(K);
  for (size_t i = 0; i < eval.size(); ++i) {
    task.InitialLogits(task.FirstState(eval[i]), z.data());
    Softmax(z.data(), K, p.data(), st->init_logprobs.data() + i * K);
  }
}

void Step(const RunConfig& rc, RunState* st) {
  Batch& batch = st->batch;
  const Task& task = *st->task;
  batch.Clear();
  task.DrawPrompts(st->step, st->rng, rc.batch_prompts, st->prompts.data());
  task.Rollout(st->step, st->rng, st->policy.get(), st->prompts.data(), rc.batch_prompts,
               rc.group_size, &batch);
  st->estimator->Compute(&batch);

  // Loss coefficients: loss = sum_t coef_t * log pi(token_t), i.e. coef = -A * w.
  const int R = batch.num_rollouts();
  const int T = batch.num_tokens();
  st->coef.resize(T);
  double seq_norm = 0.0;
  switch (rc.loss_agg) {
    case LossAgg::kTokenMean: seq_norm = static_cast<double>(T); break;
    case LossAgg::kSeqMeanTokenSum:
    case LossAgg::kSeqMeanTokenMean: seq_norm = static_cast<double>(R); break;
    case LossAgg::kSeqMeanTokenSumNorm:
      seq_norm = rc.loss_scale > 0.0 ? rc.loss_scale : static_cast<double>(task.max_length());
      break;
  }
  // One pass over the groups: loss coefficients and the window statistics.
  // Counts are integers; the reward sum runs in rollout order.
  int64_t zero_adv = 0, backprop = 0, length_sum = 0, same_groups = 0;
  double reward_sum = 0.0;
  const bool per_token_mean = rc.loss_agg == LossAgg::kSeqMeanTokenMean;
  const double* ADVLAB_RESTRICT adv = batch.advantage.data();
  const double* ADVLAB_RESTRICT reward = batch.reward.data();
  const int32_t* ADVLAB_RESTRICT tb = batch.token_begin.data();
  double* ADVLAB_RESTRICT coef = st->coef.data();
  for (int g = 0; g < batch.num_groups(); ++g) {
    const int b = batch.group_begin[g], e = batch.group_begin[g + 1];
    bool same = true;
    for (int r = b; r < e; ++r) {
      const double a = adv[r];
      const int len = tb[r + 1] - tb[r];
      const double c = per_token_mean ? -a / seq_norm / len : -a / seq_norm;
      for (int t = tb[r]; t < tb[r + 1]; ++t) coef[t] = c;
      zero_adv += a == 0.0 ? 1 : 0;
      backprop += a == 0.0 ? 0 : len;
      length_sum += len;
      reward_sum += reward[r];
      same = same && reward[r] == reward[b];
    }
    same_groups += same ? 1 : 0;
  }

  st->grad.Clear();
  st->policy->AccumulateGrad(batch, st->coef.data(), &st->grad);
  const double gnorm = st->grad.Norm();
  const bool dense = st->optimizer->Step(st->grad, st->step + 1, st->policy->params());
  if (dense) {
    st->policy->ParamsChanged();
  } else {
    st->policy->BlocksChanged(st->grad);
  }
  st->step += 1;

  st->win_steps += 1;
  st->win_rollouts += R;
  st->win_groups += batch.num_groups();
  st->win_reward += reward_sum;
  st->win_length += static_cast<double>(length_sum);
  st->win_zero_adv += zero_adv;
  st->win_same_groups += same_groups;
  st->win_kept += R;
  st->win_grad_norm += gnorm;
  st->tokens_backprop += backprop;
}

void Evaluate(const RunConfig& rc, RunState* st, double* m) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Task& task = *st->task;
  Policy& policy = *st->policy;
  const int K = task.num_actions();
  const auto& eval = task.eval_prompts();
  double acc = 0.0, pass = 0.0, ent = 0.0, kl = 0.0;
  double bin_sum[kDifficultyBins] = {0, 0, 0, 0};
  int64_t bin_n[kDifficultyBins] = {0, 0, 0, 0};
  for (size_t i = 0; i < eval.size(); ++i) {
    const int32_t prompt = eval[i];
    const double p = task.SuccessProbability(&policy, prompt);
    acc += p;
    const int b = DifficultyBin(task.difficulty(prompt));
    bin_sum[b] += p;
    bin_n[b] += 1;
    double miss = 1.0;  // (1 - p)^k by repeated multiplication: exact order, no pow
    for (int j = 0; j < rc.pass_k; ++j) miss *= 1.0 - p;
    pass += 1.0 - miss;
    const int32_t s = task.FirstState(prompt);
    ent += policy.Entropy(s);
    const double* pr = policy.Probs(s);
    const double* lp = policy.LogProbs(s);
    const double* lp0 = st->init_logprobs.data() + i * K;
    double k = 0.0;
    for (int a = 0; a < K; ++a) k += pr[a] * (lp[a] - lp0[a]);
    kl += k;
  }
  const double n = static_cast<double>(eval.size());
  int j = 0;
  m[j++] = acc / n;
  for (int b = 0; b < kDifficultyBins; ++b) m[j++] = bin_n[b] ? bin_sum[b] / bin_n[b] : nan;
  m[j++] = pass / n;
  m[j++] = ent / n;
  m[j++] = kl / n;
  const bool any = st->win_steps > 0;
  m[j++] = any ? st->win_reward / st->win_rollouts : nan;
  m[j++] = any ? st->win_length / st->win_rollouts : nan;
  m[j++] = any ? static_cast<double>(st->win_zero_adv) / st->win_rollouts : nan;
  m[j++] = any ? static_cast<double>(st->win_same_groups) / st->win_groups : nan;
  m[j++] = any ? static_cast<double>(st->win_kept) / st->win_rollouts : nan;
  m[j++] = static_cast<double>(st->tokens_backprop);
  m[j++] = any ? st->win_grad_norm / st->win_steps : nan;
  ADVLAB_CHECK_EQ(j, static_cast<int>(MetricNames().size()));
  st->win_steps = st->win_rollouts = st->win_groups = 0;
  st->win_reward = st->win_length = st->win_grad_norm = 0.0;
  st->win_zero_adv = st->win_same_groups = st->win_kept = 0;
}

RunRecord TrainRun(const RunConfig& rc) {
  RunState st;
  InitRun(rc, &st);
  const std::vector<int64_t> evals = rc.EvalSteps();
  const size_t M = MetricNames().size(), E = evals.size();
  std::vector<double> col(M);
  RunRecord rec;
  rec.values.assign(M * E, 0.0);
  for (size_t e = 0; e < E; ++e) {
    while (st.step < evals[e]) Step(rc, &st);
    Evaluate(rc, &st, col.data());
    for (size_t i = 0; i < M; ++i) rec.values[i * E + e] = col[i];
  }
  return rec;
}

}  // namespace advlab
