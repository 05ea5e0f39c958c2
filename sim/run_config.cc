#include "sim/run_config.h"

#include "sim/error.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/policy_loss.h"
#include "sim/task.h"

namespace advlab {
namespace {

template <class R>
std::vector<std::string> NamesOf() {
  return R::Get().Names();
}

}  // namespace

ADVLAB_REGISTER_KEY(seed, KeySpec{.name = "seed", .type = KeyType::kInt, .default_value = "0",
                                  .help = "run seed: keys the Philox stream (task instance and all draws)",
                                  .min = 0, .max = 4294967295.0});
ADVLAB_REGISTER_KEY(env_name, KeySpec{.name = "env.name", .type = KeyType::kString,
                                      .default_value = "choice",
                                      .help = "task family (`advlab list envs`)",
                                      .dynamic_choices = NamesOf<TaskRegistry>});
ADVLAB_REGISTER_KEY(env_prompts, KeySpec{.name = "env.prompts", .type = KeyType::kInt,
                                         .default_value = "1024",
                                         .help = "prompts in the task's pool (P)", .min = 1, .max = 1e8});
ADVLAB_REGISTER_KEY(train_steps, KeySpec{.name = "train.steps", .type = KeyType::kInt,
                                         .default_value = "1000", .help = "training steps",
                                         .min = 1, .max = 1e10});
ADVLAB_REGISTER_KEY(train_batch_prompts,
                    KeySpec{.name = "train.batch_prompts", .type = KeyType::kInt,
                            .default_value = "64", .help = "prompts per step (B)", .min = 1, .max = 1e7});
ADVLAB_REGISTER_KEY(train_group_size,
                    KeySpec{.name = "train.group_size", .type = KeyType::kInt,
                            .default_value = "8", .help = "rollouts per prompt (G)", .min = 1, .max = 1e6});
ADVLAB_REGISTER_KEY(train_eval_every,
                    KeySpec{.name = "train.eval_every", .type = KeyType::kInt,
                            .default_value = "50", .help = "steps between eval points", .min = 1,
                            .max = 1e10});
ADVLAB_REGISTER_KEY(train_loss_agg,
                    KeySpec{.name = "train.loss_agg", .type = KeyType::kString,
                            .default_value = "token-mean",
                            .help = "loss aggregation (estimators.md §4)",
                            .choices = EnumNames(kLossAggNames)});
ADVLAB_REGISTER_KEY(train_loss_scale,
                    KeySpec{.name = "train.loss_scale", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "seq-mean-token-sum-norm constant C, loss / (R C) (0: the "
                                    "task's max length)",
                            .min = 0, .max = 1e12,
                            .used_by = UsedWhen("train.loss_agg", {"seq-mean-token-sum-norm"})});
ADVLAB_REGISTER_KEY(policy_kind, KeySpec{.name = "policy.kind", .type = KeyType::kString,
                                         .default_value = "tabular",
                                         .help = "policy (`advlab list policies`)",
                                         .dynamic_choices = NamesOf<PolicyRegistry>});
ADVLAB_REGISTER_KEY(optim_name, KeySpec{.name = "optim.name", .type = KeyType::kString,
                                        .default_value = "sgd", .help = "optimizer: sgd or adam",
                                        .dynamic_choices = NamesOf<OptimizerRegistry>});
ADVLAB_REGISTER_KEY(estimator_name,
                    KeySpec{.name = "estimator.name", .type = KeyType::kString,
                            .default_value = "grpo",
                            .help = "advantage estimator, optionally +modifiers, e.g. grpo+adora "
                                    "(`advlab list estimators`, `advlab list modifiers`)",
                            .dynamic_choices = NamesOf<EstimatorRegistry>,
                            .validate = [](const std::string& v) { ParseEstimatorName(v); }});
ADVLAB_REGISTER_KEY(eval_pass_k, KeySpec{.name = "eval.pass_k", .type = KeyType::kInt,
                                         .default_value = "8",
                                         .help = "k of the pass@k metric (exact: 1 - (1 - p)^k)",
                                         .min = 1, .max = 1e6});
ADVLAB_REGISTER_KEY(env_false_positive,
                    KeySpec{.name = "env.false_positive", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "verifier noise: P(reward 1 | wrong response), in [0, 1)",
                            .min = 0.0, .max = 1.0, .max_exclusive = true});
ADVLAB_REGISTER_KEY(env_false_negative,
                    KeySpec{.name = "env.false_negative", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "verifier noise: P(reward 0 | correct response), in [0, 1)",
                            .min = 0.0, .max = 1.0, .max_exclusive = true});
ADVLAB_REGISTER_KEY(optim_max_grad_norm,
                    KeySpec{.name = "optim.max_grad_norm", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "clip the gradient to this global L2 norm before the "
                                    "optimizer (0: off)",
                            .min = 0.0});
ADVLAB_REGISTER_KEY(train_micro_batch,
                    KeySpec{.name = "train.micro_batch", .type = KeyType::kInt,
                            .default_value = "0",
                            .help = "kept rollouts per backward micro-batch, gradients "
                                    "accumulated over them (0: one micro-batch); the update is "
                                    "the same bit for bit, only the cost changes",
                            .min = 0, .max = 1e9});
ADVLAB_REGISTER_KEY(train_rollout_batch,
                    KeySpec{.name = "train.rollout_batch", .type = KeyType::kInt,
                            .default_value = "0",
                            .help = "rollouts per inference call in the cost model (0: one call "
                                    "per sampling round, DASH's preemptive sampling)",
                            .min = 0, .max = 1e9});
ADVLAB_REGISTER_KEY(train_loss,
                    KeySpec{.name = "train.loss", .type = KeyType::kString, .default_value = "pg",
                            .help = "policy loss (`advlab list losses`): pg (-A log pi, one "
                                    "update per batch), ppo (ratio clipping, train.epochs x "
                                    "train.minibatches updates), ...",
                            .dynamic_choices = NamesOf<PolicyLossRegistry>});
ADVLAB_REGISTER_KEY(train_epochs,
                    KeySpec{.name = "train.epochs", .type = KeyType::kInt, .default_value = "1",
                            .help = "off-policy losses (ppo): passes over each sampled batch",
                            .min = 1, .max = 1e4, .used_by = UsedWithOffPolicyLoss()});
ADVLAB_REGISTER_KEY(train_minibatches,
                    KeySpec{.name = "train.minibatches", .type = KeyType::kInt,
                            .default_value = "1",
                            .help = "off-policy losses (ppo): optimizer steps per pass (the "
                                    "batch's groups split in order)",
                            .min = 1, .max = 1e7, .used_by = UsedWithOffPolicyLoss()});
ADVLAB_REGISTER_KEY(kl_coef, KeySpec{.name = "kl.coef", .type = KeyType::kFloat,
                                     .default_value = "0",
                                     .help = "weight of the KL to the initial policy (0: off)",
                                     .min = 0.0, .max = 1e6});
ADVLAB_REGISTER_KEY(kl_estimator,
                    KeySpec{.name = "kl.estimator", .type = KeyType::kString,
                            .default_value = "k3",
                            .help = "KL estimator on sampled tokens: k1 (log ratio), k2 (half "
                                    "its square), k3 (verl low_var_kl), abs (|log ratio|), k1+ "
                                    "and k3+ (value of k1 / k3, gradient of k2: verl's "
                                    "straight-through)",
                            .choices = EnumNames(kKlEstimatorNames),
                            .used_by = UsedUnless("kl.coef", "0")});
ADVLAB_REGISTER_KEY(kl_target,
                    KeySpec{.name = "kl.target", .type = KeyType::kFloat, .default_value = "0",
                            .help = "adaptive KL controller (Ziegler et al. 2019, verl "
                                    "AdaptiveKLController): the KL the coefficient steers to, "
                                    "kl.coef its start; coef *= 1 + clip(KL / target - 1, -0.2, "
                                    "0.2) x rollouts / kl.horizon once a step (0: fixed coef)",
                            .min = 0.0, .max = 1e6,
                            .used_by = UsedUnless("kl.coef", "0")});
ADVLAB_REGISTER_KEY(kl_horizon,
                    KeySpec{.name = "kl.horizon", .type = KeyType::kFloat,
                            .default_value = "10000",
                            .help = "adaptive KL controller: horizon in sampled rollouts "
                                    "(verl's and Ziegler et al.'s default 10000)",
                            .min = 0.0, .max = 1e12, .min_exclusive = true,
                            .used_by = UsedUnless("kl.target", "0")});
ADVLAB_REGISTER_KEY(kl_where,
                    KeySpec{.name = "kl.where", .type = KeyType::kString, .default_value = "loss",
                            .help = "loss: kl.coef x agg(KL) added to the loss at the current "
                                    "policy; reward: -kl.coef x KL of the sampling policy per "
                                    "token, in the reward",
                            .choices = EnumNames(kKlWhereNames),
                            .used_by = UsedUnless("kl.coef", "0")});
ADVLAB_REGISTER_KEY(train_entropy_coef,
                    KeySpec{.name = "train.entropy_coef", .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "entropy bonus: loss -= coef x agg(H) over the visited states",
                            .min = -1e6, .max = 1e6});
ADVLAB_REGISTER_KEY(cost_infer_call,
                    KeySpec{.name = "cost.infer_call", .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "cost model: fixed cost of one inference call", .min = 0});
ADVLAB_REGISTER_KEY(cost_infer_token,
                    KeySpec{.name = "cost.infer_token", .type = KeyType::kFloat,
                            .default_value = "0.001",
                            .help = "cost model: cost per generated token", .min = 0});
ADVLAB_REGISTER_KEY(cost_train_call,
                    KeySpec{.name = "cost.train_call", .type = KeyType::kFloat,
                            .default_value = "0.5",
                            .help = "cost model: fixed cost of one backward micro-batch",
                            .min = 0});
ADVLAB_REGISTER_KEY(cost_train_token,
                    KeySpec{.name = "cost.train_token", .type = KeyType::kFloat,
                            .default_value = "0.003",
                            .help = "cost model: cost per back-propagated token", .min = 0});
// Two estimator keys the loop implements (sim/gradient.cc's normalisers,
// sim/sample_batch.cc's reference sampler), so they are registered here.
constexpr EnumName<bool> kDashNormalizerNames[] = {{"kept", false}, {"generated", true}};
constexpr EnumName<bool> kAapoReferenceNames[] = {{"fresh", false}, {"cached", true}};
ADVLAB_REGISTER_KEY(estimator_dash_normalizer,
                    KeySpec{.name = "estimator.dash_normalizer",
                            .type = KeyType::kString,
                            .default_value = "kept",
                            .help = "dash: loss normalisers count the kept rollouts (kept: the step "
                                    "grows by 1/kept share) or every generated one (generated)",
                            .choices = EnumNames(kDashNormalizerNames),
                            .used_by = UsedWithEstimator("dash")});
ADVLAB_REGISTER_KEY(estimator_aapo_reference,
                    KeySpec{.name = "estimator.aapo_reference",
                            .type = KeyType::kString,
                            .default_value = "fresh",
                            .help = "aapo: pi_0's rollouts drawn every step (fresh) or once per "
                                    "prompt and reused, re-scored, charged once (cached)",
                            .choices = EnumNames(kAapoReferenceNames),
                            .used_by = UsedWithEstimator("aapo")});
ADVLAB_REGISTER_KEY(diagnostics_exact_gradient,
                    KeySpec{.name = "diagnostics.exact_gradient", .type = KeyType::kBool,
                            .default_value = "false",
                            .help = "measure each eval's last update against the exact gradient"});
ADVLAB_REGISTER_KEY(diagnostics_samples,
                    KeySpec{.name = "diagnostics.samples", .type = KeyType::kInt,
                            .default_value = "8",
                            .help = "fresh batches per eval for grad_rel_err and grad_var",
                            .min = 2, .max = 1e6,
                            .used_by = UsedWhen("diagnostics.exact_gradient", {"true"})});

ADVLAB_REGISTER_KEY(
    train_match_update,
    KeySpec{.name = "train.match_update", .type = KeyType::kString, .default_value = "",
            .help = "rescale each optimizer step's update to the norm the named baseline "
                    "estimator's update has on the same rollouts (e.g. grpo: the run at grpo's "
                    "step size; the baseline's update is not applied; sgd only; empty: off)",
            .dynamic_choices = NamesOf<EstimatorRegistry>,
            .validate = [](const std::string& v) {
              if (!v.empty()) ParseEstimatorName(v, "key 'train.match_update'");
            }});

namespace {

// train.match_update's baseline: refused when its update is not defined by the
// step's rollouts and the run's optimizer (UserError, one line).
void CheckMatchUpdate(const Config& config, const RunConfig& rc) {
  const std::string name = config.Str("train.match_update");
  const std::string what = "key 'train.match_update' = " + name;
  const EstimatorSpec spec = ParseEstimatorName(name, "key 'train.match_update'");
  const OptimizerEntry* opt = OptimizerRegistry::Get().Find(config.Str("optim.name"));
  ADVLAB_CHECK(opt != nullptr);  // Resolve checked the name
  if (!opt->linear) {
    throw UserError(what + " with optim.name = " + opt->name + ": " + opt->name +
                    "'s per-parameter normalisation makes a norm match ill-defined; allowed: "
                    "optim.name = sgd");
  }
  std::string sampler;
  if (spec.base->needs_greedy) sampler = spec.base->name + " decodes greedy responses";
  for (const ModifierEntry* m : spec.modifiers) {
    if (m->needs_reference) sampler = m->name + " samples reference rollouts";
    if (m->resamples) sampler = m->name + " resamples the batch";
  }
  if (!sampler.empty()) {
    throw UserError(what + ": " + sampler + ", so its update is not a function of the step's "
                    "rollouts; allowed: a baseline that reads the batch alone (e.g. grpo, rloo, "
                    "grpo+adora)");
  }
  if (spec.needs_groups() && rc.group_size < 2) {
    throw UserError(what + " compares the rollouts of a group, but train.group_size = " +
                    std::to_string(rc.group_size) + "; allowed: train.group_size >= 2");
  }
  if (spec.base->whitens_tokens && static_cast<int64_t>(rc.batch_prompts) * rc.group_size < 2) {
    throw UserError(what + " whitens over the batch's tokens, which needs at least 2; allowed: "
                    "train.batch_prompts x train.group_size >= 2");
  }
}

}  // namespace

RunConfig RunConfig::FromConfig(const Config& config) {
  RunConfig rc;
  rc.config = config;
  rc.seed = static_cast<uint64_t>(config.Int("seed"));
  rc.steps = config.Int("train.steps");
  rc.eval_every = config.Int("train.eval_every");
  rc.batch_prompts = static_cast<int>(config.Int("train.batch_prompts"));
  rc.group_size = static_cast<int>(config.Int("train.group_size"));
  rc.loss_agg = EnumValue(kLossAggNames, config.Str("train.loss_agg"));
  rc.loss_scale = config.Float("train.loss_scale");
  rc.pass_k = static_cast<int>(config.Int("eval.pass_k"));
  rc.false_positive = config.Float("env.false_positive");
  rc.false_negative = config.Float("env.false_negative");
  rc.diagnostics = config.Bool("diagnostics.exact_gradient");
  rc.max_grad_norm = config.Float("optim.max_grad_norm");
  const EstimatorSpec est = ParseEstimatorName(config.Str("estimator.name"));
  for (const ModifierEntry* m : est.modifiers) {
    rc.reference_rollouts = rc.reference_rollouts || m->needs_reference;
  }
  rc.reference_cached = EnumValue(kAapoReferenceNames, config.Str("estimator.aapo_reference"));
  rc.filter_normalize_generated =
      EnumValue(kDashNormalizerNames, config.Str("estimator.dash_normalizer"));
  rc.loss = PolicyLossRegistry::Get().Find(config.Str("train.loss"));
  ADVLAB_CHECK(rc.loss != nullptr);  // Resolve checked the name
  rc.epochs = static_cast<int>(config.Int("train.epochs"));
  rc.minibatches = static_cast<int>(config.Int("train.minibatches"));
  rc.kl_coef = config.Float("kl.coef");
  rc.kl_estimator = EnumValue(kKlEstimatorNames, config.Str("kl.estimator"));
  rc.kl_in_reward = EnumValue(kKlWhereNames, config.Str("kl.where")) == KlWhere::kReward;
  rc.kl_target = config.Float("kl.target");
  rc.kl_horizon = config.Float("kl.horizon");
  rc.entropy_coef = config.Float("train.entropy_coef");
  rc.micro_batch = static_cast<int>(config.Int("train.micro_batch"));
  rc.rollout_batch = static_cast<int>(config.Int("train.rollout_batch"));
  rc.cost_infer_call = config.Float("cost.infer_call");
  rc.cost_infer_token = config.Float("cost.infer_token");
  rc.cost_train_call = config.Float("cost.train_call");
  rc.cost_train_token = config.Float("cost.train_token");
  rc.diagnostic_samples = static_cast<int>(config.Int("diagnostics.samples"));
  rc.match_update = !config.Str("train.match_update").empty();
  if (rc.false_positive + rc.false_negative >= 1.0) {
    throw UserError("env.false_positive + env.false_negative = " +
                    config.Str("env.false_positive") + " + " + config.Str("env.false_negative") +
                    " >= 1: the verifier would carry no signal; allowed: a sum below 1");
  }
  if (!rc.loss->off_policy && (rc.epochs > 1 || rc.minibatches > 1)) {
    throw UserError("train.epochs = " + config.Str("train.epochs") + " and train.minibatches = " +
                    config.Str("train.minibatches") +
                    " reuse a batch off-policy, which needs an off-policy loss such as "
                    "train.loss = ppo (" + rc.loss->name + " is one on-policy update per batch)");
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
    throw UserError("train.group_size = " + std::to_string(rc.group_size) +
                    " with estimator.name = " + config.Str("estimator.name") +
                    ", which compares the rollouts of a group: use train.group_size >= 2 (or "
                    "estimator.name = reinforce)");
  }
  // A whitening estimator needs >= 2 valid tokens in every non-empty batch. A
  // training batch holds B x G rollouts (or none, when dapo finds no
  // informative group), each with at least one token (every family answers
  // with one): B x G >= 2 is enough, and dapo keeps whole groups of G >= 2.
  if (est.base->whitens_tokens && static_cast<int64_t>(rc.batch_prompts) * rc.group_size < 2) {
    throw UserError("estimator.name = " + config.Str("estimator.name") +
                    " whitens the advantages over the batch's tokens, which needs at least 2, "
                    "but a batch of train.batch_prompts x train.group_size = 1 rollout can hold "
                    "a single token; allowed: train.batch_prompts x train.group_size >= 2");
  }
  for (const char* key : {"estimator.name", "train.match_update"}) {  // and the baseline's
    if (config.Str(key).empty()) continue;
    const EstimatorEntry* base = ParseEstimatorName(config.Str(key), "key '" + std::string(key) + "'").base;
    if (!base->group_refusal) continue;
    const std::string why = base->group_refusal(&config, rc.group_size);
    if (!why.empty()) throw UserError(why);
  }
  if (static_cast<int64_t>(rc.batch_prompts) * rc.group_size > (int64_t{1} << 30)) {
    throw UserError("train.batch_prompts x train.group_size = " +
                    std::to_string(static_cast<int64_t>(rc.batch_prompts) * rc.group_size) +
                    " rollouts per step is too large; allowed: at most 2^30");
  }
  if (rc.kl_target > 0.0 &&
      0.2 * static_cast<double>(rc.batch_prompts) * rc.group_size >= rc.kl_horizon) {
    throw UserError("kl.horizon = " + config.Str("kl.horizon") + " with train.batch_prompts x "
                    "train.group_size = " +
                    std::to_string(static_cast<int64_t>(rc.batch_prompts) * rc.group_size) +
                    " rollouts a step: the adaptive KL step 1 - 0.2 x rollouts / horizon would "
                    "not keep the coefficient positive; allowed: kl.horizon above 0.2 x rollouts");
  }
  if (rc.match_update) CheckMatchUpdate(config, rc);
  return rc;
}

std::vector<int64_t> RunConfig::EvalSteps() const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(NumEvalSteps(steps, eval_every)));
  for (int64_t t = 0; t < steps; t += eval_every) out.push_back(t);
  out.push_back(steps);
  return out;
}

}  // namespace advlab
