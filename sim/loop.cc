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
                            "seq-mean-token-sum-norm constant C, loss / (R C) (0: the task's max length)", 0, 1e12,
                            false, {}, {}});
ADVLAB_REGISTER_KEY(policy_kind, KeySpec{"policy.kind", KeyType::kString, "tabular",
                                         "policy (`advlab list policies`)", -1e300, 1e300, false,
                                         {}, NamesOf<PolicyRegistry>});
ADVLAB_REGISTER_KEY(optim_name, KeySpec{"optim.name", KeyType::kString, "sgd",
                                        "optimizer: sgd or adam", -1e300, 1e300, false, {},
                                        NamesOf<OptimizerRegistry>});
ADVLAB_REGISTER_KEY(estimator_name,
                    KeySpec{"estimator.name", KeyType::kString, "grpo",
                            "advantage estimator, optionally +modifiers, e.g. grpo+adora "
                            "(`advlab list estimators`, `advlab list modifiers`)",
                            -1e300, 1e300, false, {}, NamesOf<EstimatorRegistry>, false,
                            [](const std::string& v) { ParseEstimatorName(v); }});
ADVLAB_REGISTER_KEY(eval_pass_k, KeySpec{"eval.pass_k", KeyType::kInt, "8",
                                         "k of the pass@k metric (exact: 1 - (1 - p)^k)", 1, 1e6,
                                         false, {}, {}});

ADVLAB_REGISTER_KEY(env_false_positive,
                    KeySpec{"env.false_positive", KeyType::kFloat, "0",
                            "verifier noise: P(reward 1 | wrong response), in [0, 1)", 0.0, 1.0,
                            false, {}, {}, true});
ADVLAB_REGISTER_KEY(env_false_negative,
                    KeySpec{"env.false_negative", KeyType::kFloat, "0",
                            "verifier noise: P(reward 0 | correct response), in [0, 1)", 0.0, 1.0,
                            false, {}, {}, true});
ADVLAB_REGISTER_KEY(optim_max_grad_norm,
                    KeySpec{"optim.max_grad_norm", KeyType::kFloat, "0",
                            "clip the gradient to this global L2 norm before the optimizer (0: off)",
                            0.0, 1e300, false, {}, {}});
ADVLAB_REGISTER_KEY(train_micro_batch,
                    KeySpec{"train.micro_batch", KeyType::kInt, "0",
                            "kept rollouts per backward micro-batch, gradients accumulated over "
                            "them (0: one micro-batch); the update is the same bit for bit, only "
                            "the cost changes",
                            0, 1e9, false, {}, {}});
ADVLAB_REGISTER_KEY(train_rollout_batch,
                    KeySpec{"train.rollout_batch", KeyType::kInt, "0",
                            "rollouts per inference call in the cost model (0: one call per "
                            "sampling round, DASH's preemptive sampling)",
                            0, 1e9, false, {}, {}});
ADVLAB_REGISTER_KEY(train_loss,
                    KeySpec{"train.loss", KeyType::kString, "pg",
                            "policy loss: pg (-A log pi, one update per batch) or ppo (ratio "
                            "clipping, train.epochs x train.minibatches updates)",
                            -1e300, 1e300, false, {"pg", "ppo"}, {}});
ADVLAB_REGISTER_KEY(train_epochs, KeySpec{"train.epochs", KeyType::kInt, "1",
                                          "ppo: passes over each sampled batch", 1, 1e4, false,
                                          {}, {}});
ADVLAB_REGISTER_KEY(train_minibatches,
                    KeySpec{"train.minibatches", KeyType::kInt, "1",
                            "ppo: optimizer steps per pass (the batch's groups split in order)",
                            1, 1e7, false, {}, {}});
ADVLAB_REGISTER_KEY(train_clip_low,
                    KeySpec{"train.clip_low", KeyType::kFloat, "0.2",
                            "ppo: ratio clipped below at 1 - clip_low", 0.0, 1.0, false, {}, {}});
ADVLAB_REGISTER_KEY(train_clip_high,
                    KeySpec{"train.clip_high", KeyType::kFloat, "0.2",
                            "ppo: ratio clipped above at 1 + clip_high (DAPO clip-higher: 0.28)",
                            0.0, 1e6, false, {}, {}});
ADVLAB_REGISTER_KEY(train_clip_c,
                    KeySpec{"train.clip_c", KeyType::kFloat, "3",
                            "ppo dual clip: the loss of a negative-advantage token is at most "
                            "c |A| (c > 1; 0: off)",
                            0.0, 1e6, false, {}, {}, false,
                            [](const std::string& v) {
                              const double c = std::stod(v);
                              if (c != 0.0 && c <= 1.0) {
                                throw UserError("key 'train.clip_c': " + v +
                                                " is not allowed; allowed: 0 (off) or a value "
                                                "above 1");
                              }
                            }});
ADVLAB_REGISTER_KEY(kl_coef, KeySpec{"kl.coef", KeyType::kFloat, "0",
                                     "weight of the KL to the initial policy (0: off)", 0.0,
                                     1e6, false, {}, {}});
ADVLAB_REGISTER_KEY(kl_estimator,
                    KeySpec{"kl.estimator", KeyType::kString, "k3",
                            "KL estimator on sampled tokens: k1 (log ratio), k2 (half its "
                            "square), k3 (verl low_var_kl)",
                            -1e300, 1e300, false, {"k1", "k2", "k3"}, {}});
ADVLAB_REGISTER_KEY(kl_where,
                    KeySpec{"kl.where", KeyType::kString, "loss",
                            "loss: kl.coef x agg(KL) added to the loss at the current policy; "
                            "reward: -kl.coef x KL of the sampling policy per token, in the reward",
                            -1e300, 1e300, false, {"loss", "reward"}, {}});
ADVLAB_REGISTER_KEY(train_entropy_coef,
                    KeySpec{"train.entropy_coef", KeyType::kFloat, "0",
                            "entropy bonus: loss -= coef x agg(H) over the visited states", -1e6,
                            1e6, false, {}, {}});
ADVLAB_REGISTER_KEY(cost_infer_call, KeySpec{"cost.infer_call", KeyType::kFloat, "1",
                                             "cost model: fixed cost of one inference call", 0,
                                             1e300, false, {}, {}});
ADVLAB_REGISTER_KEY(cost_infer_token, KeySpec{"cost.infer_token", KeyType::kFloat, "0.001",
                                              "cost model: cost per generated token", 0, 1e300,
                                              false, {}, {}});
ADVLAB_REGISTER_KEY(cost_train_call, KeySpec{"cost.train_call", KeyType::kFloat, "0.5",
                                             "cost model: fixed cost of one backward micro-batch",
                                             0, 1e300, false, {}, {}});
ADVLAB_REGISTER_KEY(cost_train_token, KeySpec{"cost.train_token", KeyType::kFloat, "0.003",
                                              "cost model: cost per back-propagated token", 0,
                                              1e300, false, {}, {}});
ADVLAB_REGISTER_KEY(diagnostics_exact_gradient,
                    KeySpec{"diagnostics.exact_gradient", KeyType::kBool, "false",
                            "measure each eval's last update against the exact gradient", -1e300,
                            1e300, false, {}, {}});
ADVLAB_REGISTER_KEY(diagnostics_samples,
                    KeySpec{"diagnostics.samples", KeyType::kInt, "8",
                            "fresh batches per eval for grad_rel_err and grad_var", 2, 1e6, false,
                            {}, {}});

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
  rc.false_positive = config.Float("env.false_positive");
  rc.false_negative = config.Float("env.false_negative");
  rc.diagnostics = config.Bool("diagnostics.exact_gradient");
  rc.max_grad_norm = config.Float("optim.max_grad_norm");
  const EstimatorSpec est = ParseEstimatorName(config.Str("estimator.name"));
  for (const ModifierEntry* m : est.modifiers) {
    rc.dynamic_sampling = rc.dynamic_sampling || m->dynamic_sampling;
    rc.reference_rollouts = rc.reference_rollouts || m->needs_reference;
  }
  rc.greedy = est.base->needs_greedy;
  rc.dapo_max_resample = static_cast<int>(config.Int("estimator.dapo_max_resample"));
  rc.policy_loss = config.Str("train.loss") == "ppo" ? PolicyLoss::kPpo : PolicyLoss::kPg;
  rc.epochs = static_cast<int>(config.Int("train.epochs"));
  rc.minibatches = static_cast<int>(config.Int("train.minibatches"));
  rc.clip_low = config.Float("train.clip_low");
  rc.clip_high = config.Float("train.clip_high");
  rc.clip_c = config.Float("train.clip_c");
  rc.kl_coef = config.Float("kl.coef");
  const std::string& kl = config.Str("kl.estimator");
  rc.kl_estimator = kl == "k1" ? KlEstimator::kK1 : kl == "k2" ? KlEstimator::kK2 : KlEstimator::kK3;
  rc.kl_in_reward = config.Str("kl.where") == "reward";
  rc.entropy_coef = config.Float("train.entropy_coef");
  rc.micro_batch = static_cast<int>(config.Int("train.micro_batch"));
  rc.rollout_batch = static_cast<int>(config.Int("train.rollout_batch"));
  rc.cost_infer_call = config.Float("cost.infer_call");
  rc.cost_infer_token = config.Float("cost.infer_token");
  rc.cost_train_call = config.Float("cost.train_call");
  rc.cost_train_token = config.Float("cost.train_token");
  rc.diagnostic_samples = static_cast<int>(config.Int("diagnostics.samples"));
  if (rc.false_positive + rc.false_negative >= 1.0) {
    throw UserError("env.false_positive + env.false_negative = " +
                    config.Str("env.false_positive") + " + " + config.Str("env.false_negative") +
                    " >= 1: the verifier would carry no signal; allowed: a sum below 1");
  }
  if (rc.policy_loss == PolicyLoss::kPg && (rc.epochs > 1 || rc.minibatches > 1)) {
    throw UserError("train.epochs = " + config.Str("train.epochs") + " and train.minibatches = " +
                    config.Str("train.minibatches") +
                    " reuse a batch off-policy, which needs train.loss = ppo (pg is one "
                    "on-policy update per batch)");
  }
  if (rc.minibatches > rc.batch_prompts) {
    throw UserError("train.minibatches = " + config.Str("train.minibatches") +
                    " is more than train.batch_prompts = " + config.Str("train.batch_prompts") +
                    "; allowed: at most one minibatch per prompt group");
  }
  if (rc.steps > 2147483647LL) {
    throw UserError("key 'train.steps': " + std::to_string(rc.steps) +
                    " is too large; allowed: at most 2147483647 (Philox counters are 32-bit)");
  }

  if (est.needs_groups() && rc.group_size < 2) {
    throw UserError("train.group_size = " + std::to_string(rc.group_size) + " with estimator.name = " +
                    config.Str("estimator.name") +
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
      "kept_frac",     "tokens_backprop", "grad_norm",     "truncated_frac",
      "response_length_correct", "response_length_wrong", "train_accuracy",
      "grad_cosine",   "grad_rel_err",   "grad_var",      "tas_frac",
      "sampling_rounds", "discarded_frac", "sim_cost", "clip_frac", "kl_ref"};
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
  st->estimator = MakeEstimator(c.Str("estimator.name"));
  st->estimator->Bind(EstimatorContext{&rc.config, st->task.get(), st->policy.get(),
                                       rc.false_positive, rc.false_negative});
  st->reference.reset();
  if (rc.kl_coef > 0.0 || rc.reference_rollouts) {
    st->reference = std::make_unique<ReferencePolicy>(*st->task);
  }
  st->updates = 0;
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

namespace {

// Observed rewards: a correct response reads 0 with P(fn), a wrong one 1 with
// P(fp). One Philox word per rollout: {step, group, block of 4 rollouts}.
void ObserveRewards(const RunConfig& rc, const Philox& rng, int64_t step, Batch* batch) {
  if (rc.false_positive == 0.0 && rc.false_negative == 0.0) return;
  const uint32_t fp = static_cast<uint32_t>(rc.false_positive * 4294967296.0);
  const uint32_t fn = static_cast<uint32_t>(rc.false_negative * 4294967296.0);
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g], e = batch->group_begin[g + 1];
    Words4 w{};
    for (int r = b; r < e; ++r) {
      const int i = r - b;
      if (i % 4 == 0) {
        w = rng.Draw(Purpose::kVerifier, static_cast<uint32_t>(step), static_cast<uint32_t>(g),
                     static_cast<uint32_t>(i / 4));
      }
      const uint32_t word = w.w[i % 4];
      const bool ok = batch->correct[r] != 0;
      batch->reward[r] = ok ? (word < fn ? 0.0 : 1.0) : (word < fp ? 1.0 : 0.0);
    }
  }
}

// One sampling round: B prompts, G rollouts each, observed rewards.
void SampleRound(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  batch->Clear();
  st->task->DrawPrompts(step, rng, rc.batch_prompts, st->prompts.data());
  st->task->Rollout(step, rng, st->policy.get(), st->prompts.data(), rc.batch_prompts,
                    rc.group_size, batch);
  ObserveRewards(rc, rng, step, batch);
}

// Inference calls to generate `rollouts` rollouts (cost model).
int64_t InferCalls(const RunConfig& rc, int64_t rollouts) {
  if (rollouts == 0) return 0;
  return rc.rollout_batch == 0 ? 1 : (rollouts + rc.rollout_batch - 1) / rc.rollout_batch;
}

// The stream of AAPO's reference rollouts: above every DAPO round's stream.
constexpr uint32_t kReferenceStream = 0x7fffffffu;

}  // namespace

void SampleBatch(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  SampleRound(rc, st, rng, step, batch);
  SamplingStats& ss = st->sampling;
  ss = SamplingStats{};
  ss.rounds = 1;
  ss.generated_rollouts = batch->num_rollouts();
  ss.generated_tokens = batch->num_tokens();
  ss.infer_calls = InferCalls(rc, batch->num_rollouts());
  if (rc.dynamic_sampling) {
    // DAPO: keep the informative groups, in order, round after round.
    Batch& out = st->dapo_out;
    out.Clear();
    for (int g = 0; g < batch->num_groups() && out.num_groups() < rc.batch_prompts; ++g) {
      if (!batch->RewardsAllEqual(g)) out.AppendGroup(*batch, g);
    }
    for (int k = 0; k < rc.dapo_max_resample && out.num_groups() < rc.batch_prompts; ++k) {
      SampleRound(rc, st, rng.Stream(static_cast<uint32_t>(k)), step, &st->dapo_round);
      const Batch& round = st->dapo_round;
      ss.rounds += 1;
      ss.generated_rollouts += round.num_rollouts();
      ss.generated_tokens += round.num_tokens();
      ss.infer_calls += InferCalls(rc, round.num_rollouts());
      for (int g = 0; g < round.num_groups() && out.num_groups() < rc.batch_prompts; ++g) {
        if (!round.RewardsAllEqual(g)) out.AppendGroup(round, g);
      }
    }
    std::swap(*batch, out);
  }
  if (rc.reference_rollouts) {
    // AAPO: G rollouts per final prompt from pi_0, on their own stream, scored
    // by the same (noisy) verifier; index-aligned with the batch's rollouts.
    const Philox ref_rng = rng.Stream(kReferenceStream);
    Batch& ref = st->ref_batch;
    ref.Clear();
    st->task->Rollout(step, ref_rng, st->reference.get(), batch->prompt.data(),
                      batch->num_groups(), rc.group_size, &ref);
    ObserveRewards(rc, ref_rng, step, &ref);
    batch->ref_reward = ref.reward;
    ss.generated_rollouts += ref.num_rollouts();
    ss.generated_tokens += ref.num_tokens();
    ss.extra_rollouts += ref.num_rollouts();
    ss.infer_calls += InferCalls(rc, ref.num_rollouts());
  }
  if (rc.greedy) {
    // ReMax: one greedy response per prompt, decoded by the sampling policy.
    batch->greedy_reward.resize(batch->num_groups());
    for (int g = 0; g < batch->num_groups(); ++g) {
      int32_t len = 0;
      batch->greedy_reward[g] = st->task->GreedyReward(st->policy.get(), batch->prompt[g], &len);
      ADVLAB_CHECK(batch->greedy_reward[g] == batch->greedy_reward[g]);  // not NaN
      ss.generated_tokens += len;
    }
    ss.generated_rollouts += batch->num_groups();
    ss.extra_rollouts += batch->num_groups();
    ss.infer_calls += InferCalls(rc, batch->num_groups());
  }
}

StepStats PrepareBatch(const RunConfig& rc, RunState* st, Batch* batch, Estimator* estimator) {
  Estimator* est = estimator != nullptr ? estimator : st->estimator.get();
  StepStats ss;
  if (rc.kl_coef > 0.0) {
    // KL of the sampling policy to pi_0 on every sampled token (the kl_ref
    // metric), and, with kl.where = reward, the per-token penalty -coef * KL
    // (estimators.md §5.2): token_reward, and its sum in the rollout's reward
    // for the estimator. The verifier's rewards come back after Compute.
    const bool shaping = rc.kl_in_reward;
    if (shaping) {
      st->scores = batch->reward;
      batch->token_reward.resize(batch->num_tokens());
    }
    for (int r = 0; r < batch->num_rollouts(); ++r) {
      double penalty = 0.0;
      for (int t = batch->token_begin[r]; t < batch->token_begin[r + 1]; ++t) {
        const double ref = st->reference->LogProbs(batch->state[t])[batch->token[t]];
        const double k = KlPenalty(rc.kl_estimator, batch->logprob[t] - ref).value;
        ss.kl_sum += k;
        if (shaping) {
          batch->token_reward[t] = -rc.kl_coef * k;
          penalty += batch->token_reward[t];
        }
      }
      if (shaping) batch->reward[r] += penalty;
    }
    ss.kl_tokens = batch->num_tokens();
    est->Compute(batch);
    if (shaping) batch->reward = st->scores;
  } else {
    est->Compute(batch);
  }
  const int n = batch->num_rollouts();
  const double* ADVLAB_RESTRICT adv = batch->advantage.data();
  const double* ADVLAB_RESTRICT reward = batch->reward.data();
  const uint8_t* ADVLAB_RESTRICT correct = batch->correct.data();
  const uint8_t* ADVLAB_RESTRICT truncated = batch->truncated.data();
  const int32_t* ADVLAB_RESTRICT tb = batch->token_begin.data();
  ss.length_sum = tb[n] - tb[0];
  ss.kept = n;
  if (!batch->kept.empty()) {
    ss.kept = 0;
    for (int r = 0; r < n; ++r) ss.kept += batch->kept[r] != 0 ? 1 : 0;
  }
  for (int r = 0; r < n; ++r) {
    ss.zero_adv += adv[r] == 0.0 ? 1 : 0;
    ss.truncated += truncated[r];
    ss.correct += correct[r];
    ss.length_correct += correct[r] ? tb[r + 1] - tb[r] : 0;
    ss.reward_sum += reward[r];  // in rollout order, as before
  }
  for (int g = 0; g < batch->num_groups(); ++g) ss.same_groups += batch->RewardsAllEqual(g) ? 1 : 0;
  return ss;
}

void MinibatchGradient(const RunConfig& rc, RunState* st, const Batch& batch, int g0, int g1,
                       SparseGrad* grad, StepStats* stats) {
  grad->Clear();
  // Rollouts a filter dropped get no coefficient and leave the normalisers.
  const bool filtered = !batch.kept.empty();
  const int r0 = batch.group_begin[g0], r1 = batch.group_begin[g1];
  int R = r1 - r0, T = batch.token_begin[r1] - batch.token_begin[r0];
  if (filtered) {
    R = T = 0;
    for (int r = r0; r < r1; ++r) {
      if (batch.kept[r]) {
        R += 1;
        T += batch.length(r);
      }
    }
  }
  if (R == 0) return;
  // Loss = sum_t coef_t * log pi(token_t | state_t) (+ the entropy terms), with
  // coef = w_t * dl_t / dlog pi (sim/loss.h).
  const double scale =
      rc.loss_scale > 0.0 ? rc.loss_scale : static_cast<double>(st->task->max_length());
  // The weight depends on the rollout only under seq-mean-token-mean.
  const bool per_token = rc.loss_agg == LossAgg::kSeqMeanTokenMean;
  const double weight = TokenWeight(rc.loss_agg, 1, R, T, scale);
  const bool ppo = rc.policy_loss == PolicyLoss::kPpo;
  const bool kl_loss = rc.kl_coef > 0.0 && !rc.kl_in_reward;
  const bool entropy = rc.entropy_coef != 0.0;
  const bool token_adv = !batch.token_advantage.empty();
  const bool simple = !ppo && !kl_loss && !entropy && !token_adv;
  Policy& pi = *st->policy;
  const int K = pi.num_actions();
  st->coef.resize(batch.num_tokens());
  double* ADVLAB_RESTRICT coef = st->coef.data();
  const int32_t* ADVLAB_RESTRICT tb = batch.token_begin.data();
  // Micro-batches: consecutive runs of micro_batch kept rollouts, in order.
  int r = r0;
  while (r < r1) {
    const int first = r;
    int count = 0;
    if (rc.micro_batch == 0) {  // one micro-batch: every kept rollout
      r = r1;
      count = R;
    }
    while (r < r1 && count < rc.micro_batch) {
      count += !filtered || batch.kept[r] ? 1 : 0;
      ++r;
    }
    if (count == 0) {  // only dropped rollouts: nothing to back-propagate
      for (int t = tb[first]; t < tb[r]; ++t) coef[t] = 0.0;
      continue;
    }
    int64_t nonzero = 0;
    if (simple) {  // pg on sequence advantages: one coefficient per rollout
      const double* ADVLAB_RESTRICT adv = batch.advantage.data();
      const uint8_t* ADVLAB_RESTRICT kept = batch.kept.data();
      for (int q = first; q < r; ++q) {
        const bool keep = !filtered || kept[q] != 0;
        const int len = tb[q + 1] - tb[q];
        const double a = keep ? adv[q] : 0.0;
        const double c =
            a == 0.0 ? 0.0 : -a * (per_token ? TokenWeight(rc.loss_agg, len, R, T, scale) : weight);
        for (int t = tb[q]; t < tb[q + 1]; ++t) coef[t] = c;
        nonzero += c != 0.0 ? len : 0;
      }
      pi.AccumulateGradRange(batch, coef, tb[first], tb[r], grad);
      stats->backprop += nonzero;
      stats->train_calls += 1;
      continue;
    }
    if (entropy) st->terms.Clear();
    for (int q = first; q < r; ++q) {
      const bool keep = !filtered || batch.kept[q] != 0;
      const int len = tb[q + 1] - tb[q];
      if (!keep) {
        for (int t = tb[q]; t < tb[q + 1]; ++t) coef[t] = 0.0;
        continue;
      }
      stats->loss_tokens += ppo ? len : 0;  // clip_frac's denominator
      const double w = per_token ? TokenWeight(rc.loss_agg, len, R, T, scale) : weight;
      for (int t = tb[q]; t < tb[q + 1]; ++t) {
        const double a = token_adv ? batch.token_advantage[t] : batch.advantage[q];
        // log pi(token) at the current parameters, where a term reads it.
        const double lp = ppo || kl_loss ? pi.LogProbs(batch.state[t])[batch.token[t]] : 0.0;
        double c = a == 0.0 ? 0.0 : -a * w;  // pg
        if (ppo) {
          const PpoToken p =
              PpoTokenLoss(a, lp - batch.logprob[t], rc.clip_low, rc.clip_high, rc.clip_c);
          c = p.dlogp == 0.0 ? 0.0 : p.dlogp * w;
          stats->clipped += p.clipped || p.dual_clipped ? 1 : 0;
        }
        if (kl_loss) {
          const double ref = st->reference->LogProbs(batch.state[t])[batch.token[t]];
          c += rc.kl_coef * KlPenalty(rc.kl_estimator, lp - ref).dlogp * w;
        }
        coef[t] = c;
        // With the entropy bonus every token of a kept rollout is back-propagated.
        nonzero += c != 0.0 || entropy ? 1 : 0;
        if (entropy) {
          // loss -= coef_H * w * H(s): d/dtheta = coef_H * w * sum_a pi_a
          // (log pi_a + H) grad log pi_a (sum_a pi_a grad log pi_a = 0 centres it).
          const int32_t s = batch.state[t];
          const double* p = pi.Probs(s);
          const double* lp = pi.LogProbs(s);
          const double h = pi.Entropy(s);
          st->terms.Add(s, batch.token[t], c);
          for (int a2 = 0; a2 < K; ++a2) {
            st->terms.Add(s, a2, rc.entropy_coef * w * (p[a2] * (lp[a2] + h)));
          }
        }
      }
    }
    if (entropy) {
      pi.AccumulateGradRange(st->terms.batch, st->terms.coef.data(), 0,
                             st->terms.batch.num_tokens(), grad);
    } else {
      pi.AccumulateGradRange(batch, coef, tb[first], tb[r], grad);
    }
    stats->backprop += nonzero;
    stats->train_calls += 1;
  }
  pi.FinishGrad(grad);
}

StepStats LossGradient(const RunConfig& rc, RunState* st, Batch* batch, SparseGrad* grad,
                       Estimator* estimator) {
  StepStats ss = PrepareBatch(rc, st, batch, estimator);
  MinibatchGradient(rc, st, *batch, 0, batch->num_groups(), grad, &ss);
  return ss;
}

// The simulated compute cost of a step (docs/estimators.md, "Compute cost"):
//   inference  cost.infer_call per call + cost.infer_token per generated token;
//              one call per train.rollout_batch rollouts of each sampling round
//              (0: one per round, DASH's preemptive sampling); AAPO's reference
//              and ReMax's greedy rollouts are calls and tokens too
//   training   cost.train_call per backward micro-batch (train.micro_batch kept
//              rollouts, every update) + cost.train_token per back-propagated
//              token (tokens with a non-zero coefficient, every update)
double StepCost(const RunConfig& rc, const SamplingStats& sampling, const StepStats& ss) {
  return rc.cost_infer_call * static_cast<double>(sampling.infer_calls) +
         rc.cost_infer_token * static_cast<double>(sampling.generated_tokens) +
         rc.cost_train_call * static_cast<double>(ss.train_calls) +
         rc.cost_train_token * static_cast<double>(ss.backprop);
}

void Step(const RunConfig& rc, RunState* st) {
  st->task->Advance(st->step);
  SampleBatch(rc, st, st->rng, st->step, &st->batch);
  StepStats ss = PrepareBatch(rc, st, &st->batch);
  // train.epochs passes; each splits the groups, in order, into
  // train.minibatches minibatches with one optimizer step each.
  const int64_t groups = st->batch.num_groups();
  for (int e = 0; e < rc.epochs; ++e) {
    for (int k = 0; k < rc.minibatches; ++k) {
      const int g0 = static_cast<int>(groups * k / rc.minibatches);
      const int g1 = static_cast<int>(groups * (k + 1) / rc.minibatches);
      if (g0 == g1 && rc.minibatches > 1) continue;
      MinibatchGradient(rc, st, st->batch, g0, g1, &st->grad, &ss);
      const double gnorm = st->grad.Norm();  // before clipping (the logged grad_norm)
      if (rc.max_grad_norm > 0.0 && gnorm > rc.max_grad_norm) {
        st->grad.Scale(rc.max_grad_norm / gnorm);
      }
      st->updates += 1;
      const bool dense = st->optimizer->Step(st->grad, st->updates, st->policy->params());
      if (dense) {
        st->policy->ParamsChanged();
      } else {
        st->policy->BlocksChanged(st->grad);
      }
      ss.grad_norm_sum += gnorm;
      ss.updates += 1;
    }
  }
  st->step += 1;

  const Batch& batch = st->batch;
  st->win_steps += 1;
  st->win_rollouts += batch.num_rollouts();
  st->win_groups += batch.num_groups();
  st->win_reward += ss.reward_sum;
  st->win_length += static_cast<double>(ss.length_sum);
  st->win_zero_adv += ss.zero_adv;
  st->win_same_groups += ss.same_groups;
  st->win_kept += ss.kept;
  st->win_rounds += st->sampling.rounds;
  st->win_generated += st->sampling.generated_rollouts - st->sampling.extra_rollouts;
  st->win_discarded +=
      st->sampling.generated_rollouts - st->sampling.extra_rollouts - batch.num_rollouts();
  st->sim_cost += StepCost(rc, st->sampling, ss);
  if (batch.tas_groups >= 0) {
    st->win_tas_groups += batch.tas_groups;
    st->win_tas_total += batch.num_groups();
  }
  st->win_grad_norm += ss.updates > 0 ? ss.grad_norm_sum / ss.updates : 0.0;
  st->win_truncated += ss.truncated;
  st->win_correct += ss.correct;
  st->win_length_correct += static_cast<double>(ss.length_correct);
  st->tokens_backprop += ss.backprop;
  st->win_loss_tokens += ss.loss_tokens;
  st->win_clipped += ss.clipped;
  st->win_kl_tokens += ss.kl_tokens;
  st->win_kl += ss.kl_sum;
}

namespace {

void ToDense(const SparseGrad& g, double sign, std::vector<double>* out) {
  out->assign(g.value.size(), 0.0);
  for (int32_t b : g.touched) {
    const int64_t o = static_cast<int64_t>(b) * g.block_size;
    for (int64_t i = 0; i < g.block_size; ++i) (*out)[o + i] = sign * g.value[o + i];
  }
}

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

void ExactObjectiveGradient(const RunConfig& rc, RunState* st, std::vector<double>* out) {
  std::vector<int32_t> prompts;
  std::vector<double> weights;
  st->task->TrainingDistribution(&prompts, &weights);
  // d/dtheta of fp + (1 - fp - fn) * success.
  const double scale = 1.0 - rc.false_positive - rc.false_negative;
  st->diag_terms.Clear();
  for (size_t i = 0; i < prompts.size(); ++i) {
    st->task->SuccessGradientTerms(st->policy.get(), prompts[i], scale * weights[i],
                                   &st->diag_terms);
  }
  // grad log pi(a | s) depends on (s, a) only: sum the terms per pair first (in
  // term order), then hand the policy one term per pair (in pair order). Turns
  // e.g. chain's P n m^2 terms into at most O m^2.
  const int64_t A = st->task->num_actions();
  const int64_t pairs = static_cast<int64_t>(st->task->num_states()) * A;
  std::vector<double> table(pairs, 0.0);
  const GradientTerms& terms = st->diag_terms;
  for (size_t i = 0; i < terms.coef.size(); ++i) {
    table[terms.batch.state[i] * A + terms.batch.token[i]] += terms.coef[i];
  }
  GradientTerms& merged = st->diag_merged;
  merged.Clear();
  for (int64_t k = 0; k < pairs; ++k) {
    if (table[k] != 0.0) merged.Add(static_cast<int32_t>(k / A), static_cast<int32_t>(k % A), table[k]);
  }
  SparseGrad& g = st->diag_grad;
  if (g.value.size() != static_cast<size_t>(st->policy->num_params())) {
    g.Init(st->policy->num_params(), st->policy->grad_block_size());
  }
  g.Clear();
  st->policy->AccumulateGrad(merged.batch, merged.coef.data(), &g);
  ToDense(g, 1.0, out);
}

void DiagnosedStep(const RunConfig& rc, RunState* st) {
  st->task->Advance(st->step);
  std::vector<double> exact;
  ExactObjectiveGradient(rc, st, &exact);
  const double exact_sq = Dot(exact, exact);

  // S fresh batches at the same parameters. Keys (seed, j + 1): seeds are 32-bit,
  // so the high key word 0 is the training stream and these never collide.
  const int S = rc.diagnostic_samples;
  const size_t n = exact.size();
  std::vector<double> mean(n, 0.0), m2(n, 0.0), est;
  double rel_err = 0.0;
  if (st->diag_grad.value.size() != n) st->diag_grad.Init(st->policy->num_params(), st->policy->grad_block_size());
  for (int j = 0; j < S; ++j) {
    const Philox rng(rc.seed | (static_cast<uint64_t>(j + 1) << 32));
    SampleBatch(rc, st, rng, st->step, &st->diag_batch);
    // A stateful estimator works on a copy: the diagnostics must not advance
    // the state training goes on with.
    // (Step runs the same LossGradient on the original after the samples.)
    std::unique_ptr<Estimator> copy = st->estimator->Clone();
    LossGradient(rc, st, &st->diag_batch, &st->diag_grad, copy.get());
    ToDense(st->diag_grad, -1.0, &est);  // ascent direction
    double err = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double d = est[i] - exact[i];
      err += d * d;
      // Welford, in sample order.
      const double delta = est[i] - mean[i];
      mean[i] += delta / (j + 1);
      m2[i] += delta * (est[i] - mean[i]);
    }
    rel_err += err;
  }
  double var = 0.0;
  for (size_t i = 0; i < n; ++i) var += m2[i] / (S - 1);

  // The training step itself, and its actual update.
  std::vector<double> before(st->policy->params(), st->policy->params() + n);
  Step(rc, st);
  const double* after = st->policy->params();
  double dot = 0.0, upd_sq = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double u = after[i] - before[i];
    dot += u * exact[i];
    upd_sq += u * u;
  }
  // Undefined (NaN) when the step did not move or the exact gradient vanishes.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool moved = upd_sq > 0.0, informative = exact_sq > 0.0;
  st->diag_cosine = moved && informative ? dot / (std::sqrt(upd_sq) * std::sqrt(exact_sq)) : nan;
  st->diag_rel_err = informative ? rel_err / S / exact_sq : nan;
  st->diag_var = informative ? var / exact_sq : nan;
  st->diag_valid = true;
}

void Evaluate(const RunConfig& rc, RunState* st, double* m) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Task& task = *st->task;
  task.Advance(st->step);
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
  m[j++] = any ? static_cast<double>(st->win_truncated) / st->win_rollouts : nan;
  const int64_t wrong = st->win_rollouts - st->win_correct;
  m[j++] = any && st->win_correct > 0 ? st->win_length_correct / st->win_correct : nan;
  m[j++] = any && wrong > 0 ? (st->win_length - st->win_length_correct) / wrong : nan;
  // Exact accuracy on the current training distribution (the true objective).
  {
    std::vector<int32_t> prompts;
    std::vector<double> weights;
    task.TrainingDistribution(&prompts, &weights);
    double train_acc = 0.0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      train_acc += weights[i] * task.SuccessProbability(&policy, prompts[i]);
    }
    m[j++] = train_acc;
  }
  m[j++] = st->diag_valid ? st->diag_cosine : nan;
  m[j++] = st->diag_valid ? st->diag_rel_err : nan;
  m[j++] = st->diag_valid ? st->diag_var : nan;
  m[j++] = st->win_tas_total > 0 ? static_cast<double>(st->win_tas_groups) / st->win_tas_total : nan;
  m[j++] = any ? static_cast<double>(st->win_rounds) / st->win_steps : nan;
  m[j++] = any ? static_cast<double>(st->win_discarded) / st->win_generated : nan;
  m[j++] = st->sim_cost;
  m[j++] = rc.policy_loss == PolicyLoss::kPpo && st->win_loss_tokens > 0
               ? static_cast<double>(st->win_clipped) / st->win_loss_tokens
               : nan;
  m[j++] = st->win_kl_tokens > 0 ? st->win_kl / st->win_kl_tokens : nan;
  ADVLAB_CHECK_EQ(j, static_cast<int>(MetricNames().size()));
  st->win_steps = st->win_rollouts = st->win_groups = 0;
  st->win_reward = st->win_length = st->win_grad_norm = st->win_length_correct = 0.0;
  st->win_zero_adv = st->win_same_groups = st->win_kept = 0;
  st->win_truncated = st->win_correct = 0;
  st->win_tas_groups = st->win_tas_total = 0;
  st->win_rounds = st->win_generated = st->win_discarded = 0;
  st->win_loss_tokens = st->win_clipped = st->win_kl_tokens = 0;
  st->win_kl = 0.0;
  st->diag_valid = false;
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
    while (st.step < evals[e]) {
      if (rc.diagnostics && st.step + 1 == evals[e]) {
        DiagnosedStep(rc, &st);
      } else {
        Step(rc, &st);
      }
    }
    Evaluate(rc, &st, col.data());
    for (size_t i = 0; i < M; ++i) rec.values[i * E + e] = col[i];
  }
  return rec;
}

}  // namespace advlab
