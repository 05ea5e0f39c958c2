#include "estimators/gae.h"

#include <memory>
#include <string>

#include "estimators/gae_step.h"
#include "sim/check.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/mlp.h"
#include "sim/rng.h"
#include "sim/task.h"

namespace advlab {

namespace {

// estimator.critic's values; auto resolves to a CriticKind in OptionsFromConfig.
enum class CriticChoice { kAuto, kTabular, kMlp };
constexpr EnumName<CriticChoice> kCriticNames[] = {
    {"auto", CriticChoice::kAuto},
    {"tabular", CriticChoice::kTabular},
    {"mlp", CriticChoice::kMlp},
};

}  // namespace

ADVLAB_REGISTER_KEY(estimator_gae_gamma,
                    KeySpec{.name = "estimator.gae_gamma",
                            .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "gae: discount gamma of the per-token rewards, in [0, 1]",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWithEstimator("gae")});
ADVLAB_REGISTER_KEY(estimator_gae_lambda,
                    KeySpec{.name = "estimator.gae_lambda",
                            .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "gae: GAE lambda (1: Monte-Carlo return minus V; 0: one-step "
                                    "TD), in [0, 1]",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWithEstimator("gae")});
ADVLAB_REGISTER_KEY(estimator_critic,
                    KeySpec{.name = "estimator.critic",
                            .type = KeyType::kString,
                            .default_value = "auto",
                            .help = "gae: the learned critic, one value per task state (tabular) "
                                    "or an MLP on the task's features (mlp); auto = mlp when "
                                    "policy.kind = mlp",
                            .choices = EnumNames(kCriticNames),
                            .used_by = UsedWithEstimator("gae")});
ADVLAB_REGISTER_KEY(estimator_critic_lr,
                    KeySpec{.name = "estimator.critic_lr",
                            .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "gae: SGD learning rate of the critic on its token-mean value "
                                    "loss; 0 = auto (8 tabular, 0.3 mlp)",
                            .min = 0.0,
                            .max = 1e300,
                            .used_by = UsedWithEstimator("gae")});

GaeEstimator::Options GaeEstimator::OptionsFromConfig(const Config& config, const Task& task) {
  Options o;
  o.gamma = config.Float("estimator.gae_gamma");
  o.lambda = config.Float("estimator.gae_lambda");
  const CriticChoice critic = EnumValue(kCriticNames, config.Str("estimator.critic"));
  const bool mlp = critic == CriticChoice::kMlp ||
                   (critic == CriticChoice::kAuto && config.Str("policy.kind") == "mlp");
  if (mlp && task.feature_dim() <= 0) {
    throw UserError("key 'estimator.critic': an mlp critic needs the task's feature vectors; "
                    "env.name = " + config.Str("env.name") +
                    " provides none; allowed: estimator.critic = tabular");
  }
  o.critic = mlp ? CriticKind::kMlp : CriticKind::kTabular;
  o.lr = config.Float("estimator.critic_lr");
  o.hidden = static_cast<int>(config.Int("policy.hidden"));
  o.relu = config.Str("policy.activation") == "relu";
  o.seed = static_cast<uint64_t>(config.Int("seed"));
  return o;
}

double GaeEstimator::lr() const {
  if (options_.lr > 0.0) return options_.lr;
  return options_.critic == CriticKind::kMlp ? kDefaultMlpLr : kDefaultTabularLr;
}

void GaeEstimator::Bind(const EstimatorContext& context) {
  ADVLAB_CHECK(!bound_);  // once, before any Compute
  bound_ = true;
  if (context.task == nullptr) {
    // Unbound (`advlab advantage`): no critic; Compute reads batch->value.
    if (context.config != nullptr) {
      options_.gamma = context.config->Float("estimator.gae_gamma");
      options_.lambda = context.config->Float("estimator.gae_lambda");
    }
    ADVLAB_CHECK(options_.gamma >= 0.0 && options_.gamma <= 1.0);
    ADVLAB_CHECK(options_.lambda >= 0.0 && options_.lambda <= 1.0);
    return;
  }
  const Task& task = *context.task;
  if (context.config != nullptr) options_ = OptionsFromConfig(*context.config, task);
  ADVLAB_CHECK(options_.gamma >= 0.0 && options_.gamma <= 1.0);
  ADVLAB_CHECK(options_.lambda >= 0.0 && options_.lambda <= 1.0);
  ADVLAB_CHECK(options_.lr >= 0.0);
  task_ = &task;
  num_states_ = task.num_states();
  ADVLAB_CHECK_GT(num_states_, 0);
  if (options_.critic == CriticKind::kTabular) {
    params_.assign(static_cast<size_t>(num_states_), 0.0);
    grad_.assign(params_.size(), 0.0);
    return;
  }
  // mlp: the shared core with one output, [W_1 (input x hidden) | b_1 | w_out |
  // b_out], W_1 Glorot (its own Purpose tag), the rest 0.
  if (task.feature_dim() <= 0) {
    throw UserError("key 'estimator.critic': an mlp critic needs the task's feature vectors; "
                    "this task provides none; allowed: estimator.critic = tabular");
  }
  ADVLAB_CHECK_GT(options_.hidden, 0);
  Mlp::Shape shape;
  shape.in = task.feature_dim();
  shape.hidden = options_.hidden;
  shape.out = 1;
  shape.layers = 1;
  shape.activation = options_.relu ? MlpActivation::kRelu : MlpActivation::kTanh;
  mlp_.emplace(shape);
  mlp_->InitGlorot(options_.seed, Purpose::kCriticInit, 1.0, 0.0);
  grad_.assign(static_cast<size_t>(mlp_->num_params()), 0.0);
  acts_.assign(static_cast<size_t>(mlp_->acts_size()), 0.0);
  y_.assign(static_cast<size_t>(mlp_->out_pad()), 0.0);
  dy_.assign(static_cast<size_t>(Mlp::kBlockTokens) * mlp_->out_pad(), 0.0);
  stamp_.assign(static_cast<size_t>(num_states_), 0);
  slot_.assign(static_cast<size_t>(num_states_), 0);
}

double GaeEstimator::MlpForward(int32_t state, double* acts) {
  double* x = Mlp::Input(acts);
  task_->Features(state, x);
  for (int i = mlp_->in(); i < mlp_->in_pad(); ++i) x[i] = 0.0;
  mlp_->Forward(acts, y_.data());
  return y_[0];
}

double GaeEstimator::Value(int32_t state) {
  ADVLAB_CHECK(task_ != nullptr);
  ADVLAB_CHECK(state >= 0 && state < num_states_);
  if (options_.critic == CriticKind::kTabular) return params_[state];
  return MlpForward(state, acts_.data());
}

void GaeEstimator::Values(const Batch& batch) {
  const int n = batch.num_tokens();
  if (options_.critic == CriticKind::kTabular) {
    for (int t = 0; t < n; ++t) values_[t] = params_[batch.state[t]];
    return;
  }
  // mlp: one forward per distinct state of the batch (slots in first-use
  // order), kept for Update; a new generation forgets the previous batch's.
  if (++generation_ == 0) {  // wrapped: every stamp is stale again
    for (uint32_t& st : stamp_) st = 0;
    generation_ = 1;
  }
  const int64_t size = mlp_->acts_size();
  int32_t used = 0;
  for (int t = 0; t < n; ++t) {
    const int32_t s = batch.state[t];
    if (stamp_[s] != generation_) {
      stamp_[s] = generation_;
      slot_[s] = used++;
      if (slot_value_.size() < static_cast<size_t>(used)) {  // grows only
        slot_value_.resize(used);
        slot_acts_.resize(static_cast<size_t>(used) * size);
      }
      slot_value_[slot_[s]] = MlpForward(s, slot_acts_.data() + slot_[s] * size);
    }
    values_[t] = slot_value_[slot_[s]];
  }
}

void GaeEstimator::Update(const Batch& batch) {
  const int n = batch.num_tokens();
  const double inv_n = 1.0 / n;
  const double lr = this->lr();
  if (options_.critic == CriticKind::kTabular) {
    // grad_ is all zero between calls: accumulate per state in token order, then
    // step each state once (a state's later tokens find its entry zeroed).
    for (int t = 0; t < n; ++t) grad_[batch.state[t]] += (values_[t] - returns_[t]) * inv_n;
    for (int t = 0; t < n; ++t) {
      const int32_t s = batch.state[t];
      if (grad_[s] == 0.0) continue;
      params_[s] -= lr * grad_[s];
      grad_[s] = 0.0;
    }
    return;
  }
  // The shared core's backward, d loss / d V_t = (V_t - ret_t) / n per token, in
  // token order, blocks of Mlp::kBlockTokens; grad_ starts at zero.
  for (double& g : grad_) g = 0.0;
  const int64_t size = mlp_->acts_size();
  const int out_pad = mlp_->out_pad();
  const double* acts[Mlp::kBlockTokens];
  const double* dy[Mlp::kBlockTokens];
  int in_block = 0;
  mlp_->BeginGrad(grad_.data());
  for (int t = 0; t < n; ++t) {
    const int32_t slot = slot_[batch.state[t]];  // set by Values for this batch
    double* d = dy_.data() + int64_t{in_block} * out_pad;  // pad lanes stay 0
    d[0] = (values_[t] - returns_[t]) * inv_n;
    acts[in_block] = slot_acts_.data() + slot * size;
    dy[in_block] = d;
    if (++in_block == Mlp::kBlockTokens) {
      mlp_->Backward(acts, dy, in_block);
      in_block = 0;
    }
  }
  if (in_block > 0) mlp_->Backward(acts, dy, in_block);
  mlp_->EndGrad(grad_.data());
  double* params = mlp_->params();
  const size_t count = grad_.size();
  for (size_t p = 0; p < count; ++p) params[p] -= lr * grad_[p];
  mlp_->ParamsChanged();
}

void GaeEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  const Batch& b = *batch;
  const int rollouts = b.num_rollouts();
  const int n = b.num_tokens();
  const bool critic = task_ != nullptr;  // else the values come from the batch
  // Unbound, planning guarantees a value per token (`advlab advantage` requires
  // --values with one per token).
  if (!critic) ADVLAB_CHECK_EQ(b.value.size(), static_cast<size_t>(n));
  ADVLAB_CHECK_EQ(b.token_begin.size(), static_cast<size_t>(rollouts) + 1);
  ADVLAB_CHECK_EQ(b.token_begin.back(), n);
  const bool token_rewards = !b.token_reward.empty();
  if (token_rewards) ADVLAB_CHECK_EQ(b.token_reward.size(), static_cast<size_t>(n));
  if (rewards_.size() < static_cast<size_t>(n)) {  // grows only (allocation-free when warm)
    rewards_.resize(n);
    values_.resize(n);
    returns_.resize(n);
  }
  if (critic) {
    ADVLAB_CHECK(b.value.empty());  // the critic gives the values (see gae.h)
    ADVLAB_CHECK_EQ(b.state.size(), static_cast<size_t>(n));
    for (int t = 0; t < n; ++t) ADVLAB_CHECK(b.state[t] >= 0 && b.state[t] < num_states_);
  }

  // Per-token rewards: the outcome (and the KL rest) at the last token.
  for (int r = 0; r < rollouts; ++r) {
    const int begin = b.token_begin[r], last = b.token_begin[r + 1] - 1;
    if (last < begin) continue;  // no tokens
    double kl_sum = 0.0;
    for (int t = begin; t < last; ++t) {
      rewards_[t] = token_rewards ? b.token_reward[t] : 0.0;
      kl_sum += rewards_[t];
    }
    rewards_[last] = token_rewards ? b.reward[r] - kl_sum : b.reward[r];
  }
  if (critic) Values(b);
  const double* values = critic ? values_.data() : b.value.data();
  batch->token_advantage.resize(static_cast<size_t>(n));
  double* adv = batch->token_advantage.data();
  GaeAdvantages(rewards_.data(), values, b.token_begin.data(), rollouts, options_.gamma,
                options_.lambda, adv, returns_.data());
  WhitenTokens(adv, n);  // an empty batch (dapo found nothing) is left alone
  batch->advantage.resize(static_cast<size_t>(rollouts));
  for (int r = 0; r < rollouts; ++r) {
    batch->advantage[r] = b.length(r) > 0 ? adv[b.token_begin[r]] : 0.0;
  }
  // Unbound: no critic to step. An empty batch has nothing to learn from.
  if (critic && n > 0) Update(b);
}

ADVLAB_REGISTER_ESTIMATOR(
    gae, .name = "gae",
    .description = "GAE with a learned critic (tabular or MLP, estimator.critic): per-token A = "
                   "sum (gamma lambda)^k delta, whitened over the batch's tokens (verl gae; "
                   "stateful; on bare rewards the values come from --values)",
    .make = [] { return std::make_unique<GaeEstimator>(); },
    .needs_values = true,
    .whitens_tokens = true);

}  // namespace advlab
