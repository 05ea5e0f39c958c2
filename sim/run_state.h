// RunState: everything one run's steps mutate (the mjData to RunConfig's
// mjModel). Built by InitRun (sim/loop.h); the scratch buffers are reused every
// step.
#ifndef ADVLAB_SIM_RUN_STATE_H_
#define ADVLAB_SIM_RUN_STATE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/batch.h"
#include "sim/estimator.h"
#include "sim/metrics.h"
#include "sim/policy.h"
#include "sim/policy_loss.h"
#include "sim/reference_policy.h"
#include "sim/rng.h"
#include "sim/run_config.h"
#include "sim/step_stats.h"
#include "sim/task.h"

namespace advlab {

struct RunState {
  int64_t step = 0;                      // training steps completed
  int64_t evals_done = 0;                // eval points evaluated (AdvanceRun)
  Philox rng{0};                         // keyed by the run's seed
  std::unique_ptr<Task> task;            // immutable once built
  std::unique_ptr<Policy> policy;        // parameters + cached distributions
  std::unique_ptr<Optimizer> optimizer;  // moments
  std::unique_ptr<Estimator> estimator;  // static estimators keep no state
  std::unique_ptr<PolicyLoss> loss;      // train.loss
  // pi_0: built by InitRun when KL or AAPO needs it, else by the first eval (kl_init).
  std::unique_ptr<ReferencePolicy> reference;
  int64_t updates = 0;                   // optimizer steps taken (Adam's counter)
  // The KL coefficient of the coming step: kl.coef, moved once a step by the
  // adaptive controller when kl.target > 0 (sim/loop.cc Step).
  double kl_coef = 0.0;
  MetricAccumulator metrics;             // window and cumulative sums since the last eval
  SamplingStats sampling;                // the last SampleBatch
  // Scratch reused every step (no allocation once warm).
  Batch batch;
  SparseGrad grad;
  std::vector<int32_t> prompts;  // [B]
  std::vector<double> coef;      // [tokens] loss coefficient per token
  std::vector<double> logprob;   // [tokens] log pi at the current parameters (ratio losses, KL)
  BatchArray<double> scores;     // [rollouts] verifier rewards while the KL penalty
                                 //   sits in batch.reward (kl.where = reward)
  GradientTerms terms;           // scratch: a micro-batch's terms with the entropy bonus
  std::vector<LossRollout> loss_rollouts;  // scratch: a micro-batch's kept rollouts (loss view)
  std::vector<double*> loss_coef;          // scratch: where each one's coefficients go
  // Batch-level losses (PolicyLossEntry::batch_prepass): a minibatch's kept
  // rollouts, their first tokens, and the marks of every token of the batch.
  std::vector<LossRollout> prepass_rollouts;
  std::vector<int32_t> prepass_first;
  std::vector<uint8_t*> prepass_mark;
  std::vector<uint8_t> loss_mark;          // [tokens]
  Batch ref_batch;               // scratch: AAPO's reference rollouts
  // estimator.aapo_reference = cached: [training prompts] 1 once the prompt's
  // reference rollouts were generated (and charged); later draws reuse them.
  std::vector<uint8_t> reference_generated;
  // train.match_update: the baseline estimator (null: off), its advantages on
  // the step's batch (swapped with the batch's arrays around its gradient) and
  // its gradient of each minibatch.
  std::unique_ptr<Estimator> match_estimator;
  BatchArray<double> match_advantage;        // [rollouts]
  BatchArray<uint8_t> match_kept;            // [rollouts] (empty: all kept)
  BatchArray<double> match_token_advantage;  // [tokens] (empty: per rollout)
  SparseGrad match_grad;
  // Diagnostics of the last step before an eval (NaN when not measured).
  double diag_cosine = 0.0;
  double diag_rel_err = 0.0;
  double diag_var = 0.0;
  double diag_var_ratio = 0.0;     // diag_var over the same of the `optimal` baseline
  double diag_mean_cosine = 0.0;   // cosine(mean g_hat, grad J)
  double diag_fit_err = 0.0;       // min_c |c mean g_hat - grad J|^2 / |grad J|^2
  double diag_update_share[kDifficultyBins] = {};  // <g_k, g> / |g|^2 of the mean g_hat
  double diag_exact_share[kDifficultyBins] = {};   // the same of grad J
  bool diag_valid = false;
  // The step after which the next eval runs (TrainRun sets it): that step
  // measures baseline_rmse on its batch.
  int64_t next_eval = -1;
  double baseline_rmse = 0.0;  // NaN when the estimator reports no baseline
  Batch diag_batch;                // scratch for the diagnostic batches
  Batch diag_opt_batch;            // scratch: the same batch for the `optimal` baseline
  std::unique_ptr<Estimator> diag_optimal;  // grad_var_ratio's reference estimator
  SparseGrad diag_grad;            // scratch
  GradientTerms diag_terms;        // scratch: the oracle's terms
  GradientTerms diag_merged;       // scratch: the terms summed per (state, action)
};

}  // namespace advlab

#endif  // ADVLAB_SIM_RUN_STATE_H_
