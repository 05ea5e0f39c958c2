// The training loop (DESIGN §2): one run = one config + one seed.
//
// RunConfig is immutable; RunState holds everything a step mutates. Each step t:
//   1. draw B training prompts from the task's drifting distribution
//   2. G rollouts per prompt from the current (old) policy, rewarded
//   3. the estimator turns rewards into per-rollout advantages
//   4. loss coefficients per token from the aggregation mode
//   5. gradient of the loss, optimizer step
//   6. every eval_every steps: metrics from the exact oracle
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
  int micro_batch = 0;          // rollouts per backward micro-batch (cost model)
  bool preemptive = true;       // cost model: one inference call per round
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
  int64_t generated_tokens = 0;
};

struct RunState {
  int64_t step = 0;                      // training steps completed
  Philox rng{0};                         // keyed by the run's seed
  std::unique_ptr<Task> task;            // immutable once built
  std::unique_ptr<Policy> policy;        // parameters + cached distributions
  std::unique_ptr<Optimizer> optimizer;  // moments
  std::unique_ptr<Estimator> estimator;  // static estimators keep no state
  std::vector<double> init_logprobs;     // [eval prompts x actions] pi_0 at first decision
  // Scratch reused every step (no allocation once warm).
  Batch batch;
  SparseGrad grad;
  std::vector<int32_t> prompts;  // [B]
  std::vector<double> coef;      // [tokens] loss coefficient per token
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
  double reward_sum = 0.0;
};

// Builds the task, policy, optimizer and estimator for a run.
void InitRun(const RunConfig& rc, RunState* state);
// One training step.
void Step(const RunConfig& rc, RunState* state);
// Step 2 (and noise): draws prompts and rollouts for step `step` from `rng` into
// `batch`, at the current parameters.
void SampleBatch(const RunConfig& rc, RunState* state, const Philox& rng, int64_t step,
                 Batch* batch);
// Steps 3-5 up to the gradient: advantages (by `estimator`, default the run's),
// loss coefficients and the loss gradient of `batch` into `grad` (cleared
// first). Returns the batch statistics.
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
