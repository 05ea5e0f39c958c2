// gae: Generalized Advantage Estimation with a learned critic (PPO's estimator,
// verl's default adv_estimator).
//
//   per rollout r with tokens t = b .. e-1 (states s_t), from the last token back,
//   nextV = 0, lastA = 0:
//     r_t     = 0 for t < e-1, R_r at t = e-1          (token_reward empty)
//             = token_reward[t] for t < e-1,            (KL in the reward, kl.where =
//               R_r - sum_{t' < e-1} token_reward[t']    reward: R_r holds the KL sum)
//               at t = e-1
//     V_t     = V(s_t)                                  (the critic, before this update)
//     delta_t = r_t + gamma nextV - V_t
//     A_t     = delta_t + (gamma lambda) lastA;  nextV <- V_t, lastA <- A_t
//     ret_t   = A_t + V_t
//   A = masked_whiten(A) over ALL tokens of the batch (n tokens, as reinforce_pp:
//     m = sum A / (n + 1e-8), var = sum (A - m)^2 / (n + 1e-8) * n / (n - 1),
//     A <- (A - m) / sqrt(var + 1e-8); estimators.md §1)
//   token_advantage[t] = A_t; advantage[r] = A_b (the rollout's first token).
//   Critic: one SGD step per Compute on 0.5 * (1/n) sum_t (V(s_t) - ret_t)^2,
//     ret_t from the values before the step; learning rate estimator.critic_lr.
//
// Keys (Bind reads them; the default constructor uses the defaults):
//   estimator.gae_gamma   1.0  in [0, 1]   discount (verl algorithm.gamma)
//   estimator.gae_lambda  1.0  in [0, 1]   GAE lambda (verl algorithm.lam)
//   estimator.critic      auto | tabular | mlp; auto = mlp when policy.kind = mlp,
//                         else tabular.
//     tabular: one value per task state (num_states()), initialised to 0.
//     mlp: V(s) = w_out . act(W_1 x(s) + b_1) + b_out, x(s) = Task::Features(s),
//       one hidden layer (whatever policy.layers is) of policy.hidden units
//       with policy.activation (tanh = dm::Tanh, or relu);
//       W_1 Glorot-uniform, a = sqrt(6 / (feature_dim + hidden)): element p of
//       W_1 ([feature_dim][hidden] row-major) draws word p % 4 of
//       Philox(seed).Draw(Purpose::kCriticInit, p / 4, 0, 0), w = a (2 U01 - 1),
//       as sim/mlp.h (Mlp::InitGlorot); b_1, w_out, b_out = 0, so V starts at 0
//       everywhere. The network is the shared MLP core (sim/mlp.h, out = 1).
//       A task without features (feature_dim() = 0): UserError.
//   estimator.critic_lr   0 = auto: 8 (tabular) or 0.3 (mlp); any value > 0 is
//     used as it is. Why 8 for tabular: the loss is a token mean, so a step
//     moves V(s) by lr * f of the way to the mean return of its tokens, f the
//     share of the batch's tokens in state s. On `choice` with the default
//     batch (64 prompts x 8, pool 1024) a group is f = 1/64: 1/8 of the way
//     per visit, which forgets the start to 8% in 19 visits (~300 steps) and
//     averages ~15 visits, a noise std of at most sqrt(1/15 * 0.25 / 8) =
//     0.046. Measured there (gae_test.cc): mean |V - p| 0.025 after 300 steps
//     (0.141 at V = 0); lr 4 / 16 / 32 give 0.045 / 0.029 / 0.046. The step
//     overshoots when lr * f > 1 and diverges when lr * f > 2: the largest f
//     in default batches is 0.047 (choice, a prompt drawn 3 times), 0.031
//     (chain), 0.022 (think), so lr 8 has a margin of 2.6 before overshooting.
//     Why 0.3 for mlp: every token moves the shared output layer, whose step on
//     V is lr times the kernel 1 + h.h' (1 to ~3 with Glorot activations):
//     measured, the mlp critic diverges from lr = 2 on choice, chain and think,
//     and lr 1 is at the edge; 0.3 keeps a margin of ~6 and fits think as well
//     as lr 1 (on choice's 1024 one-hot prompts any stable rate learns the
//     per-prompt values slowly: the hidden activations start at ~0.07).
//
// verl's value clipping (cliprange_value, estimators.md §3.10: V_clip =
// clip(V_pred, V_old -+ eps_v)) is a no-op here: with one critic update per
// batch the loss is taken at V_pred = V_old, so the clipped and unclipped terms
// coincide (their gradients too). Its loss aggregation is the token mean.
//
// Citation: Schulman, Moritz, Levine, Jordan & Abbeel (2016), "High-Dimensional
// Continuous Control Using Generalized Advantage Estimation", ICLR, arXiv
// 1506.02438. Code: verl core_algos.py compute_gae_advantage_return (b178a3cd)
// and the value loss compute_value_loss; estimators.md §1, §2.1, §3.10, §12.7,
// §12.8. A rollout's tokens are contiguous, so verl's multi-turn hole handling
// (§12.8: the carry jumps over masked tokens) has nothing to skip; empty
// rollouts carry nothing (advantage 0).
//
// All-correct / all-wrong groups: NOT zero. The baseline is the critic's value
// per state, not a group statistic: an all-correct group of a prompt whose value
// is 0.6 gets a positive raw advantage, an all-wrong one a negative one (then
// whitened with the whole batch). needs_groups = false; singletons are fine.
// Bias: the critic is a learned baseline that lags the policy (and, for the
// mlp, generalises across states). With gamma = lambda = 1, A_t = G_t - V(s_t),
// the return minus a state baseline fixed before the batch was seen: unbiased
// before the whitening, whatever the critic's error. lambda < 1 bootstraps on
// V(s_{t+1}), so the critic's error becomes bias; gamma < 1 discounts the
// outcome of long responses (a different objective); both lower the variance.
// On one-token responses (`choice`) gamma and lambda do not matter: A = R -
// V(s). The batch-wide whitening adds the O(1/n) bias of a statistic of the
// sample (estimators.md §11.5) and token weighting, as reinforce_pp.
//
// Determinism: every sum in a fixed order (token order, input index order),
// dm::Tanh; the mlp critic is the shared MLP core (sim/mlp.h, the mlp policy's
// network; its fixed orders): the gradient of each parameter is one running sum
// in token order. The mlp's forward runs once per distinct
// state of a batch (kept for the update: the same bits as recomputing it).
// Allocation-free once warm (scratch grows to the largest batch seen).
//
// Host/device: GaeAdvantages and WhitenTokens are plain-data ADVLAB_HD kernels
// (estimators/gae_step.h); the critic (values and its SGD step) stays
// host-only (it reads Task::Features and the shared MLP core). Whitening needs
// >= 2 tokens: planning refuses fewer (whitens_tokens; see reinforce_pp.h); an
// empty batch (dapo found no informative group) gets no advantages and no
// critic step.
//
// Unbound (Bind given no task, or never bound): there is no critic. The values
// come from the batch instead, batch->value[t] = V(s_t) for every token (`advlab
// advantage --values FILE`, one per token: `advlab advantage` refuses anything
// else when it plans; the step checks it), and everything else is the training
// path above: the same per-token rewards, GaeAdvantages, WhitenTokens and
// first-token advantages, with no critic step (Compute keeps no state). gamma
// and lambda are the constructor's options (defaults 1, 1), or the
// estimator.gae_* keys when Bind has a config.
// Bound (training), the critic gives the values and batch->value must be empty
// (checked: the loop never fills it, so values there would be a programming
// error, not silently ignored input).
#ifndef ADVLAB_ESTIMATORS_GAE_H_
#define ADVLAB_ESTIMATORS_GAE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "estimators/gae_step.h"
#include "sim/batch.h"
#include "sim/estimator.h"
#include "sim/mlp.h"

namespace advlab {

class Config;
class Task;

enum class CriticKind { kTabular, kMlp };

class GaeEstimator : public Estimator {
 public:
  static constexpr double kDefaultTabularLr = 8.0;
  static constexpr double kDefaultMlpLr = 0.3;

  struct Options {
    double gamma = 1.0;
    double lambda = 1.0;
    CriticKind critic = CriticKind::kTabular;
    double lr = 0.0;  // 0: the critic's default (kDefaultTabularLr / kDefaultMlpLr)
    int hidden = 64;  // mlp
    bool relu = false;
    uint64_t seed = 0;
  };

  // Unbound: Compute reads the values from batch->value until Bind gives a task
  // (training binds before the first Compute).
  GaeEstimator() = default;
  explicit GaeEstimator(const Options& options) : options_(options) {}

  // Options from the estimator.gae_* / estimator.critic* keys, policy.kind,
  // policy.hidden, policy.activation and seed. UserError for estimator.critic =
  // mlp (or auto with policy.kind = mlp) on a task without features.
  static Options OptionsFromConfig(const Config& config, const Task& task);

  // Keeps the task (Features, num_states) and builds the critic: with a config,
  // from OptionsFromConfig; without one, from the constructor's options. The
  // task must outlive the estimator and its clones. Called once (checked).
  // Without a task (`advlab advantage`) no critic is built: the estimator stays
  // unbound (gamma and lambda from the config's keys when one is given).
  void Bind(const EstimatorContext& context) override;
  // A deep copy: the clone's critic learns on its own.
  std::unique_ptr<Estimator> Clone() const override {
    return std::make_unique<GaeEstimator>(*this);
  }
  // GAE, whitening, then one critic step (see the top of the file). Unbound:
  // the values from batch->value, no critic step.
  void Compute(Batch* batch) override;

  const Options& options() const { return options_; }
  double lr() const;  // the learning rate in use (the default resolved)
  // True once Bind gave a task: the critic exists and gives the values.
  bool has_critic() const { return task_ != nullptr; }
  // The critic's current value of a task state (requires Bind with a task).
  double Value(int32_t state);
  // The critic's parameters: tabular [num_states]; mlp [W_1 | b_1 | w_out | b_out];
  // empty without a critic.
  const std::vector<double>& params() const { return mlp_ ? mlp_->param_vector() : params_; }
  // For tests: set the critic (e.g. tabular values) before a Compute.
  double* mutable_params() {
    if (!mlp_) return params_.data();
    mlp_->ParamsChanged();  // the writes come before the next forward
    return mlp_->params();
  }

 private:
  void Values(const Batch& batch);  // values_[t] = V(state[t])
  void Update(const Batch& batch);  // one SGD step toward returns_
  // mlp: V(s) from the shared core (sim/mlp.h, out = 1); acts: the core's
  // activation record, filled by the forward (x(s) and h_1).
  double MlpForward(int32_t state, double* acts);

  Options options_;
  bool bound_ = false;          // Bind was called (once, checked)
  const Task* task_ = nullptr;  // null: no critic (values from batch->value)
  int32_t num_states_ = 0;
  std::vector<double> params_;  // tabular
  std::optional<Mlp> mlp_;      // mlp: the critic network (its parameters)
  // Scratch, grown to the largest batch seen (allocation-free once warm).
  std::vector<double> rewards_, values_, returns_, grad_;
  std::vector<double> acts_, y_, dy_;  // mlp: one record, out_pad, kBlockTokens x out_pad
  // mlp: the forward of each distinct state of the current batch, in slot
  // (first-use) order: stamp_[s] == generation_ iff state s has slot slot_[s].
  std::vector<uint32_t> stamp_;
  std::vector<int32_t> slot_;
  uint32_t generation_ = 0;
  std::vector<double> slot_value_, slot_acts_;  // [slot], [slot][acts_size]
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GAE_H_
