#include "policies/mlp.h"

#include <cmath>
#include <limits>

#include "sim/check.h"
#include "sim/config.h"
#include "sim/error.h"
#include "sim/features.h"
#include "sim/policy_rows.h"
#include "sim/rng.h"
#include "sim/softmax.h"
#include "sim/task.h"

namespace advlab {

static constexpr EnumName<MlpPolicy::Activation> kActivationNames[] = {
    {"tanh", MlpPolicy::Activation::kTanh},
    {"relu", MlpPolicy::Activation::kRelu},
};

namespace {

// policy.hidden and policy.activation also shape gae's mlp critic (gae.cc reads
// both when it builds one): read under policy.kind = mlp, and under gae with
// estimator.critic = mlp whatever the policy (critic = auto is mlp only under an
// mlp policy, which the first test already covers).
KeyUse UsedByMlpPolicyOrCritic() {
  KeyUse u = UsedWhen("policy.kind", {"mlp"});
  u.when += ", or estimator.name has gae with estimator.critic = mlp";
  u.test = [mlp = u.test, gae = UsedWithEstimator("gae").test](const Config& c) {
    return mlp(c) || (gae(c) && c.Str("estimator.critic") == "mlp");
  };
  return u;
}

}  // namespace

ADVLAB_REGISTER_KEY(policy_hidden, KeySpec{.name = "policy.hidden",
                                           .type = KeyType::kInt,
                                           .default_value = "64",
                                           .help = "mlp: hidden units per layer",
                                           .min = 1,
                                           .max = 1e6,
                                           .used_by = UsedByMlpPolicyOrCritic()});
ADVLAB_REGISTER_KEY(policy_layers, KeySpec{.name = "policy.layers",
                                           .type = KeyType::kInt,
                                           .default_value = "1",
                                           .help = "mlp: hidden layers",
                                           .min = 1,
                                           .max = 2,
                                           .used_by = UsedWhen("policy.kind", {"mlp"})});
ADVLAB_REGISTER_KEY(policy_activation,
                    KeySpec{.name = "policy.activation",
                            .type = KeyType::kString,
                            .default_value = "tanh",
                            .help = "mlp: hidden activation (tanh is the in-house dm::Tanh)",
                            .choices = EnumNames(kActivationNames),
                            .used_by = UsedByMlpPolicyOrCritic()});
ADVLAB_REGISTER_KEY(policy_init_scale,
                    KeySpec{.name = "policy.init_scale",
                            .type = KeyType::kFloat,
                            .default_value = "1",
                            .help = "mlp: scales the Glorot-uniform init range of the hidden "
                                    "layers",
                            .min = 0,
                            .max = 1e300,
                            .used_by = UsedWhen("policy.kind", {"mlp"})});
ADVLAB_REGISTER_KEY(policy_out_init_scale,
                    KeySpec{.name = "policy.out_init_scale",
                            .type = KeyType::kFloat,
                            .default_value = "0",
                            .help = "mlp: scales the Glorot-uniform init range of the output layer "
                                    "(0: the initial policy is the task's prior)",
                            .min = 0,
                            .max = 1e300,
                            .used_by = UsedWhen("policy.kind", {"mlp"})});

namespace {

constexpr int kBlockTokens = Mlp::kBlockTokens;

int Pad4(int n) { return (n + 3) & ~3; }

// Softmax (sim/softmax.h) over the padded logits: pad lanes hold -inf, whose
// exp is exactly +0, so the real lanes get the same bits as Softmax over the
// real logits alone (the max ignores -inf; the sum adds +0 after the real terms,
// which changes nothing) and pad lanes get pi = 0, log pi = -inf. Padded widths
// up to 32 are dispatched to compile-time sizes, where the Exp loop vectorises.
template <int kN>
ADVLAB_FORCEINLINE void SoftmaxFixed(const double* z, double* probs, double* logprobs) {
  Softmax(z, kN, probs, logprobs);
}

ADVLAB_FORCEINLINE void PaddedSoftmax(const double* z, int n_pad, double* probs, double* logprobs) {
  switch (n_pad) {
    case 4:
      return SoftmaxFixed<4>(z, probs, logprobs);
    case 8:
      return SoftmaxFixed<8>(z, probs, logprobs);
    case 12:
      return SoftmaxFixed<12>(z, probs, logprobs);
    case 16:
      return SoftmaxFixed<16>(z, probs, logprobs);
    case 20:
      return SoftmaxFixed<20>(z, probs, logprobs);
    case 24:
      return SoftmaxFixed<24>(z, probs, logprobs);
    case 32:
      return SoftmaxFixed<32>(z, probs, logprobs);
    default:
      return Softmax(z, n_pad, probs, logprobs);
  }
}

// The head of one state: z = prior + y (the core's output, act_pad values),
// -inf in the pad lanes, then probs and logprobs.
ADVLAB_MULTIVERSION void Head(const double* prior, double* z, int act, int act_pad, double* probs,
                              double* logprobs) {
  for (int k = 0; k < act; ++k) z[k] = prior[k] + z[k];
  for (int k = act; k < act_pad; ++k) z[k] = -std::numeric_limits<double>::infinity();
  PaddedSoftmax(z, act_pad, probs, logprobs);
}

// The output gradients of a block of tokens: dz_t[k] = coef_t * ([k == a_t] -
// pi_t[k]) for the A actions, 0 in the pad lanes (act_pad values per token).
ADVLAB_MULTIVERSION void BlockOutputGrad(const double* const* probs, const int32_t* action,
                                         const double* coef, int num_tokens, int act, int act_pad,
                                         double* const* dz) {
  for (int t = 0; t < num_tokens; ++t) {
    const double* p = probs[t];
    const double c = coef[t];
    const int a = action[t];
    double* d = dz[t];
    for (int k = 0; k < act; ++k) d[k] = c * ((k == a ? 1.0 : 0.0) - p[k]);
    for (int k = act; k < act_pad; ++k) d[k] = 0.0;
  }
}

}  // namespace

MlpPolicy::Options MlpPolicy::OptionsFromConfig(const Config& config, const Task& task) {
  if (task.feature_dim() <= 0) {
    throw UserError("policy.kind = mlp needs the task's feature vectors; env.name = " +
                    config.Str("env.name") + " provides none; allowed: policy.kind = tabular");
  }
  Options o;
  o.hidden = static_cast<int>(config.Int("policy.hidden"));
  o.layers = static_cast<int>(config.Int("policy.layers"));
  o.activation = EnumValue(kActivationNames, config.Str("policy.activation"));
  o.init_scale = config.Float("policy.init_scale");
  o.out_init_scale = config.Float("policy.out_init_scale");
  o.seed = static_cast<uint64_t>(config.Int("seed"));
  return o;
}

namespace {

Mlp::Shape PolicyShape(const Task& task, const MlpPolicy::Options& options) {
  Mlp::Shape shape;
  shape.in = task.feature_dim();
  shape.hidden = options.hidden;
  shape.out = task.num_actions();
  shape.layers = options.layers;
  shape.activation = options.activation;
  return shape;
}

}  // namespace

MlpPolicy::MlpPolicy(const Task& task, const Options& options)
    : task_(&task),
      num_states_(task.num_states()),
      num_actions_(task.num_actions()),
      act_pad_(Pad4(task.num_actions())),
      mlp_(PolicyShape(task, options)) {  // checks feature_dim, actions, hidden > 0
  record_size_ = 2 * int64_t{act_pad_} + mlp_.acts_size();
  mlp_.InitGlorot(options.seed, Purpose::kInit, options.init_scale, options.out_init_scale);
  stamp_.assign(num_states_, 0);
  slot_.assign(num_states_, 0);
  // A generation holds at most one record per state: room for every chunk
  // pointer, so that handing out a new chunk never reallocates the list.
  chunks_.reserve((static_cast<size_t>(num_states_) + kChunkRecords - 1) / kChunkRecords);
  z_ = MlpBuffer(act_pad_);
  prior_ = MlpBuffer(act_pad_);
}

MlpPolicy::~MlpPolicy() = default;

double* MlpPolicy::Compute(int32_t state) {
  const int32_t slot = used_++;
  if (slot / kChunkRecords >= static_cast<int32_t>(chunks_.size())) {
    chunks_.emplace_back(int64_t{kChunkRecords} * record_size_);
  }
  stamp_[state] = generation_;
  slot_[state] = slot;
  double* rec = RecordAt(slot);
  double* acts = Acts(rec, act_pad_);
  double* x = Mlp::Input(acts);
  task_->Features(state, x);
  for (int i = mlp_.in(); i < mlp_.in_pad(); ++i) x[i] = 0.0;
  task_->InitialLogits(state, prior_.data());
  mlp_.Forward(acts, z_.data());
  Head(prior_.data(), z_.data(), num_actions_, act_pad_, rec, rec + act_pad_);
  return rec;
}

const double* MlpPolicy::Activations(int32_t state, int l) {
  ADVLAB_CHECK(l >= 1 && l <= layers());
  return mlp_.Hidden(Acts(Record(state), act_pad_), l);
}

double MlpPolicy::Entropy(int32_t state) {
  const double* p = Record(state);
  return RowEntropy(p, p + act_pad_, num_actions_);
}

void MlpPolicy::AccumulateGradRange(const Batch& batch, const double* coef, int begin, int end,
                                    SparseGrad* grad) {
  ADVLAB_CHECK_EQ(grad->block_size, num_params());
  const int num_tokens = end;
  int first = begin;
  while (first < num_tokens && coef[first] == 0.0) ++first;
  if (first == num_tokens) return;  // every term is exactly zero

  // The gradient starts from grad's values (and goes back at EndGrad), so every
  // element is one running sum in token order across calls.
  double* g = grad->Touch(0);
  mlp_.BeginGrad(g);
  const double* probs[kBlockTokens];
  const double* acts[kBlockTokens];
  const double* dy[kBlockTokens];
  int32_t action[kBlockTokens];
  double c_block[kBlockTokens];
  double* dz[kBlockTokens];  // the core's scratch
  for (int t = 0; t < kBlockTokens; ++t) dy[t] = dz[t] = mlp_.OutputGradScratch(t);
  int in_block = 0;
  auto flush = [&] {
    BlockOutputGrad(probs, action, c_block, in_block, num_actions_, act_pad_, dz);
    mlp_.Backward(acts, dy, in_block);
    in_block = 0;
  };
  for (int t = first; t < num_tokens; ++t) {
    const double c = coef[t];
    if (c == 0.0) continue;
    const int32_t a = batch.token[t];
    ADVLAB_CHECK(a >= 0 && a < num_actions_);
    double* rec = Record(batch.state[t]);
    probs[in_block] = rec;
    acts[in_block] = Acts(rec, act_pad_);
    action[in_block] = a;
    c_block[in_block] = c;
    if (++in_block == kBlockTokens) flush();
  }
  if (in_block > 0) flush();
  mlp_.EndGrad(g);
}

void MlpPolicy::ParamsChanged() {
  mlp_.ParamsChanged();
  used_ = 0;
  if (++generation_ == 0) {  // wrapped: every stamp is stale again
    for (auto& st : stamp_) st = 0;
    generation_ = 1;
  }
}

void MlpPolicy::BlocksChanged(const SparseGrad&) { ParamsChanged(); }

ADVLAB_REGISTER_POLICY(
    mlp, .name = "mlp",
    .description = "multilayer perceptron on the task's feature vectors, a residual on the "
                   "prior (policy.hidden, policy.layers, policy.activation)",
    .make = [](const Config& config, const Task& task) -> std::unique_ptr<Policy> {
      return std::make_unique<MlpPolicy>(task, MlpPolicy::OptionsFromConfig(config, task));
    });

}  // namespace advlab
