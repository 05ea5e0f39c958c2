// Steps 3-4 of the loop (sim/loop.h): the KL penalty in the reward and the
// advantages (PrepareBatch), then the loss gradient of a minibatch
// (MinibatchGradient): per token the coefficient of the policy loss
// (train.loss, sim/policy_loss.h), the KL loss (kl.where = loss), the entropy
// bonus and the aggregation weight (sim/loss.h), accumulated over micro-batches
// of train.micro_batch kept rollouts.
#ifndef ADVLAB_SIM_GRADIENT_H_
#define ADVLAB_SIM_GRADIENT_H_

#include "sim/batch.h"
#include "sim/estimator.h"
#include "sim/policy.h"
#include "sim/run_config.h"
#include "sim/run_state.h"
#include "sim/step_stats.h"

namespace advlab {

// The KL penalty in the reward (kl.where = reward) and the advantages (by
// `estimator`, default the run's). Returns the batch statistics.
StepStats PrepareBatch(const RunConfig& rc, RunState* state, Batch* batch,
                       Estimator* estimator = nullptr);
// The loss gradient of groups [g0, g1) of a prepared batch at the current
// parameters into `grad` (cleared first), accumulated over micro-batches;
// adds train_calls, backprop, backward_tokens, loss_tokens and clipped to *stats.
// state->coef[t] is then each of the minibatch's tokens' loss coefficient (0 for
// a dropped rollout, and for every token when a filter kept none).
void MinibatchGradient(const RunConfig& rc, RunState* state, const Batch& batch, int g0, int g1,
                       SparseGrad* grad, StepStats* stats);
// The part of the whole prepared batch's MinibatchGradient that the rollouts
// with include[r] != 0 contribute (diagnostics: the per-bin update shares).
// Every coefficient is computed as for the whole batch (advantages, normalisers,
// micro-batches, clipping), then the other rollouts' are zeroed, so the parts
// of a partition of the rollouts sum to the whole gradient.
void MaskedBatchGradient(const RunConfig& rc, RunState* state, const Batch& batch,
                         const uint8_t* include, SparseGrad* grad);
// PrepareBatch, then the gradient of the whole batch at the sampling
// parameters (the first update of a step; the estimator's gradient).
StepStats LossGradient(const RunConfig& rc, RunState* state, Batch* batch, SparseGrad* grad,
                       Estimator* estimator = nullptr);

}  // namespace advlab

#endif  // ADVLAB_SIM_GRADIENT_H_
