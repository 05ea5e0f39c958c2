// RunConfig: the immutable, typed view of one run's resolved config (DESIGN §2).
//
// FromConfig reads every key the loop uses and cross-checks them; every refusal
// is a UserError raised at planning time, before any run starts, so nothing in
// a step needs to throw.
#ifndef ADVLAB_SIM_RUN_CONFIG_H_
#define ADVLAB_SIM_RUN_CONFIG_H_

#include <cstdint>
#include <vector>

#include "sim/config.h"
#include "sim/loss.h"

namespace advlab {

struct PolicyLossEntry;

struct RunConfig {
  Config config;  // every resolved key (family-specific ones included)
  uint64_t seed = 0;
  int64_t steps = 0;
  int64_t eval_every = 0;
  int batch_prompts = 0;
  int group_size = 0;
  LossAgg loss_agg = LossAgg::kTokenMean;
  double loss_scale = 0.0;  // seq-mean-token-sum-norm constant (0: task max length)
  int pass_k = 1;
  double false_positive = 0.0;  // P(observed reward 1 | wrong)
  double false_negative = 0.0;  // P(observed reward 0 | correct)
  double max_grad_norm = 0.0;   // global-norm clipping threshold (0: off)
  bool reference_rollouts = false;  // an estimator samples from pi_0 (aapo): keep pi_0
  // estimator.aapo_reference = cached: pi_0's rollouts of a prompt are drawn
  // once (keyed by prompt) and reused; generation is charged the first time.
  bool reference_cached = false;
  // estimator.dash_normalizer = generated: rollouts a filter dropped stay in
  // the loss normalisers (kept: they leave them, enlarging the step).
  bool filter_normalize_generated = false;
  const PolicyLossEntry* loss = nullptr;  // train.loss (sim/policy_loss.h)
  int epochs = 1;               // passes over each batch (off-policy losses)
  int minibatches = 1;          // optimizer steps per pass (off-policy losses)
  double kl_coef = 0.0;         // KL to the initial policy (0: off)
  KlEstimator kl_estimator = KlEstimator::kK3;
  bool kl_in_reward = false;    // kl.where = reward (else in the loss)
  // Adaptive KL controller (kl.target > 0; Ziegler et al. 2019): the run's
  // coefficient starts at kl_coef and lives in RunState::kl_coef.
  double kl_target = 0.0;       // 0: fixed coefficient
  double kl_horizon = 10000.0;
  double entropy_coef = 0.0;    // entropy bonus: loss -= coef * agg(H)
  int micro_batch = 0;          // kept rollouts per backward micro-batch (0: all)
  int rollout_batch = 0;        // rollouts per inference call (0: one per round)
  double cost_infer_call = 1.0, cost_infer_token = 0.001;
  double cost_train_call = 0.5, cost_train_token = 0.003;
  bool diagnostics = false;     // exact-gradient diagnostics at eval points
  int diagnostic_samples = 8;
  bool match_update = false;    // train.match_update names a baseline estimator

  // Reads and cross-checks the keys; throws UserError naming the keys.
  static RunConfig FromConfig(const Config& config);
  // Eval points: 0, eval_every, 2 eval_every, ..., and `steps` itself.
  std::vector<int64_t> EvalSteps() const;
};

// How many eval points EvalSteps gives for `steps` and `eval_every`, counted
// without building the list (planning sizes a sweep's results with it).
inline int64_t NumEvalSteps(int64_t steps, int64_t eval_every) {
  return (steps + eval_every - 1) / eval_every + 1;
}

// The names of train.loss_agg and kl.estimator, and what each parses to.
inline constexpr EnumName<LossAgg> kLossAggNames[] = {
    {"token-mean", LossAgg::kTokenMean},
    {"seq-mean-token-sum", LossAgg::kSeqMeanTokenSum},
    {"seq-mean-token-mean", LossAgg::kSeqMeanTokenMean},
    {"seq-mean-token-sum-norm", LossAgg::kSeqMeanTokenSumNorm}};
inline constexpr EnumName<KlEstimator> kKlEstimatorNames[] = {
    {"k1", KlEstimator::kK1},      {"k2", KlEstimator::kK2},      {"k3", KlEstimator::kK3},
    {"abs", KlEstimator::kAbs},    {"k1+", KlEstimator::kK1Plus}, {"k3+", KlEstimator::kK3Plus}};
// kl.where: where the KL regulariser acts.
enum class KlWhere { kLoss, kReward };
inline constexpr EnumName<KlWhere> kKlWhereNames[] = {{"loss", KlWhere::kLoss},
                                                      {"reward", KlWhere::kReward}};

}  // namespace advlab

#endif  // ADVLAB_SIM_RUN_CONFIG_H_
