// The training loop (DESIGN §2): one run = one config + one seed.
//
// RunConfig is immutable; RunState holds everything a step mutates. Each step t:
//   1. draw B training prompts from the task's drifting distribution
//   2. G rollouts per prompt from the current (old) policy, rewarded (plus, when
//      the estimator asks, G reference rollouts per prompt from the frozen
//      initial policy (AAPO) or one greedy response per prompt (ReMax))
//   3. the KL penalty enters the reward (kl.where = reward), then the estimator
//      turns rewards into advantages
//   4. train.epochs x train.minibatches updates (pg: one): for each minibatch
//      of groups, loss coefficients per token from the policy loss (pg / ppo),
//      the KL loss (kl.where = loss), the entropy bonus and the aggregation
//      mode; the gradient accumulated over micro-batches of train.micro_batch
//      kept rollouts; clipping; one optimizer step
//   5. every eval_every steps: metrics from the exact oracle
//
// Verifier noise (env.false_positive / env.false_negative) flips observed rewards
// after step 2; batch.correct keeps the truth. With diagnostics.exact_gradient,
// the last step before each eval point is also measured against the exact
// gradient of the training objective J = E_{prompt ~ training distribution}
// [observed reward] = fp + (1 - fp - fn) * success:
//   grad_cosine   cosine between the step's actual parameter update and grad J
//   grad_rel_err  mean over S fresh batches (same parameters, separate Philox
//                 streams) of |g_hat - grad J|^2 / |grad J|^2, where g_hat is the
//                 estimator's ascent direction (minus the loss gradient)
//   grad_var      sum of per-parameter sample variances of g_hat over those S
//                 batches, divided by |grad J|^2 (S = diagnostics.samples)
#ifndef ADVLAB_SIM_LOOP_H_
#define ADVLAB_SIM_LOOP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/config.h"
#include "sim/estimator.h"
#include "sim/loss.h"
#include "sim/policy.h"
#include "sim/reference_policy.h"
#include "sim/rng.h"
#include "sim/task.h"

namespace advlab {


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
  bool dynamic_sampling = false;  // a +dapo modifier: resample all-equal groups
  int dapo_max_resample = 3;
  bool reference_rollouts = false;  // a modifier reads batch.ref_reward (aapo)
  bool greedy = false;              // the estimator reads batch.greedy_reward (remax)
  PolicyLoss policy_loss = PolicyLoss::kPg;
  int epochs = 1;               // passes over each batch (ppo)
  int minibatches = 1;          // optimizer steps per pass (ppo)
  double clip_low = 0.2, clip_high = 0.2, clip_c = 3.0;  // ppo (clip_c 0: no dual clip)
  double kl_coef = 0.0;         // KL to the initial policy (0: off)
  KlEstimator kl_estimator = KlEstimator::kK3;
  bool kl_in_reward = false;    // kl.where = reward (else in the loss)
  double entropy_coef = 0.0;    // entropy bonus: loss -= coef * agg(H)
  int micro_batch = 0;          // kept rollouts per backward micro-batch (0: all)
  int rollout_batch = 0;        // rollouts per inference call (0: one per round)
  double cost_infer_call = 1.0, cost_infer_token = 0.001;
  double cost_train_call = 0.5, cost_train_token = 0.003;
  bool diagnostics = false;     // exact-gradient diagnostics at eval points
  int diagnostic_samples = 8;

  // Reads and cross-checks the keys; throws UserError naming the keys.
  static RunConfig FromConfig(const Config& config);
  // Eval points: 0, eval_every, 2 eval_every, ..., and `steps` itself.
  std::vector<int64_t> EvalSteps() const;
};

// Names of the per-eval metrics, in the order of RunRecord rows.
const std::vector<std::string>& MetricNames();

// What sampling a step took (for DAPO's metrics and the cost model).
struct SamplingStats {
  int64_t rounds = 0;                  // sampling rounds (1 without DAPO)
  int64_t generated_rollouts = 0;      // all rollouts generated, kept or not
  int64_t generated_tokens = 0;        //   (reference and greedy ones included)
  int64_t extra_rollouts = 0;          // reference (AAPO) and greedy (ReMax) rollouts
  int64_t infer_calls = 0;             // inference calls (cost model)
};

struct RunState {
  int64_t step = 0;                      // training steps completed
  Philox rng{0};                         // keyed by the run's seed
  std::unique_ptr<Task> task;            // immutable once built
  std::unique_ptr<Policy> policy;        // parameters + cached distributions
  std::unique_ptr<Optimizer> optimizer;  // moments
  std::unique_ptr<Estimator> estimator;  // static estimators keep no state
  std::unique_ptr<ReferencePolicy> reference;  // pi_0, when KL or AAPO needs it
  int64_t updates = 0;                   // optimizer steps taken (Adam's counter)
  std::vector<double> init_logprobs;     // [eval prompts x actions] pi_0 at first decision
  // Scratch reused every step (no allocation once warm).
  Batch batch;
  SparseGrad grad;
  std::vector<int32_t> prompts;  // [B]
  std::vector<double> coef;      // [tokens] loss coefficient per token
  std::vector<double> scores;    // [rollouts] verifier rewards while the KL penalty
                                 //   sits in batch.reward (kl.where = reward)
  GradientTerms terms;           // scratch: a micro-batch's terms with the entropy bonus
  Batch ref_batch;               // scratch: AAPO's reference rollouts
  // Window accumulators since the last eval (reset by Evaluate).
  int64_t win_steps = 0;
  int64_t win_rollouts = 0;
  int64_t win_groups = 0;
  double win_reward = 0.0;        // sum of rewards
  double win_length = 0.0;        // sum of response lengths
  int64_t win_zero_adv = 0;       // rollouts with advantage exactly 0
  int64_t win_same_groups = 0;    // groups whose rewards are all equal
  int64_t win_kept = 0;           // rollouts kept after filtering
  int64_t win_tas_groups = 0;     // ADORA: groups judged temporarily advantageous
  int64_t win_tas_total = 0;      // ADORA: groups judged
  double win_grad_norm = 0.0;     // sum over steps of the gradient norm
  int64_t win_truncated = 0;      // truncated rollouts
  int64_t win_correct = 0;        // correct rollouts (truth, not the noisy reward)
  double win_length_correct = 0;  // sum of lengths of correct rollouts
  int64_t tokens_backprop = 0;    // cumulative tokens with a non-zero coefficient
  int64_t win_rounds = 0;         // sampling rounds
  int64_t win_generated = 0;      // rollouts generated
  int64_t win_discarded = 0;      // generated rollouts not in the batch (DAPO)
  double sim_cost = 0.0;          // cumulative simulated compute cost
  int64_t win_loss_tokens = 0;    // ppo: tokens in the loss, summed over updates
  int64_t win_clipped = 0;        // of those, tokens where a ppo clip was active
  int64_t win_kl_tokens = 0;      // tokens whose KL to pi_0 was measured
  double win_kl = 0.0;            // sum of their KL estimates (kl.estimator)
  SamplingStats sampling;         // the last SampleBatch
  Batch dapo_out;                 // scratch: DAPO's collected groups
  Batch dapo_round;               // scratch: one DAPO round
  // Diagnostics of the last step before an eval (NaN when not measured).
  double diag_cosine = 0.0;
  double diag_rel_err = 0.0;
  double diag_var = 0.0;
  bool diag_valid = false;
  Batch diag_batch;                // scratch for the diagnostic batches
  SparseGrad diag_grad;            // scratch
  GradientTerms diag_terms;        // scratch: the oracle's terms
  GradientTerms diag_merged;       // scratch: the terms summed per (state, action)
};

// The window statistics of one step's batch.
struct StepStats {
  int64_t zero_adv = 0, backprop = 0, length_sum = 0, same_groups = 0, truncated = 0;
  int64_t correct = 0, length_correct = 0, kept = 0;
  double reward_sum = 0.0;       // verifier rewards (before any KL penalty)
  int64_t train_calls = 0;       // backward micro-batches, over all updates
  int64_t updates = 0;           // optimizer steps
  int64_t loss_tokens = 0;       // ppo: tokens in the loss, over all updates
  int64_t clipped = 0;           // ppo: tokens with an active clip, over all updates
  double grad_norm_sum = 0.0;    // sum over updates of the gradient norm (pre-clip)
  int64_t kl_tokens = 0;         // tokens whose KL to pi_0 was measured
  double kl_sum = 0.0;           // sum of their KL estimates
};

// Builds the task, policy, optimizer and estimator for a run.
void InitRun(const RunConfig& rc, RunState* state);
// One training step.
void Step(const RunConfig& rc, RunState* state);
// Step 2 (and noise): draws prompts and rollouts for step `step` from `rng` into
// `batch`, at the current parameters.
void SampleBatch(const RunConfig& rc, RunState* state, const Philox& rng, int64_t step,
                 Batch* batch);
// Step 3: the KL penalty in the reward (kl.where = reward) and the advantages
// (by `estimator`, default the run's). Returns the batch statistics.
StepStats PrepareBatch(const RunConfig& rc, RunState* state, Batch* batch,
                       Estimator* estimator = nullptr);
// The loss gradient of groups [g0, g1) of a prepared batch at the current
// parameters into `grad` (cleared first), accumulated over micro-batches;
// adds train_calls, backprop, loss_tokens and clipped to *stats.
void MinibatchGradient(const RunConfig& rc, RunState* state, const Batch& batch, int g0, int g1,
                       SparseGrad* grad, StepStats* stats);
// PrepareBatch, then the gradient of the whole batch at the sampling
// parameters (the first update of a step; the estimator's gradient).
StepStats LossGradient(const RunConfig& rc, RunState* state, Batch* batch, SparseGrad* grad,
                       Estimator* estimator = nullptr);
// Exact gradient of the training objective J at the current step and parameters
// (dense, ascent direction).
void ExactObjectiveGradient(const RunConfig& rc, RunState* state, std::vector<double>* out);
// The simulated compute cost of a step (see loop.cc).
double StepCost(const RunConfig& rc, const SamplingStats& sampling, const StepStats& ss);
// A step measured against the exact gradient (fills the diag_* fields).
void DiagnosedStep(const RunConfig& rc, RunState* state);
// Metrics at the current step, one value per MetricNames() entry; resets the
// window accumulators.
void Evaluate(const RunConfig& rc, RunState* state, double* metrics);

struct RunRecord {
  std::vector<double> values;  // [metrics x evals], row-major
};
// A whole run: InitRun, then Steps with Evaluate at every eval point.
RunRecord TrainRun(const RunConfig& rc);

}  // namespace advlab

#endif  // ADVLAB_SIM_LOOP_H_
