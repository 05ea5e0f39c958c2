// spo: Single-stream Policy Optimization's persistent, KL-adaptive baseline
// (Xu & Ding, arXiv 2509.13232; code verl-recipe spo/; zoo.md "Dynamic baselines").
//
//   per prompt p a Beta tracker (alpha_p, beta_p),  p_hat = alpha / (alpha + beta)
//   for each group g of the batch, in batch order, prompt p = prompt[g]:
//     A_i = R_i - p_hat_p                    (p_hat BEFORE this group's update)
//     for i in index order: alpha <- rho_i alpha + R_i,  beta <- rho_i beta + (1 - R_i)
//   then over the whole batch: A <- (A - mean(A)) / (std(A) + 1e-6)
//   rho = 2^(-D / d_half) clipped to [rho_min, 0.96]
//   D = sum_a pi_now(a) |log pi_now(a) - log pi_then(a)|
//
// D measures how far the policy moved for the prompt since it was last seen,
// EXACTLY: the tracker keeps, per prompt, the log-probabilities of the prompt's
// first decision (task->FirstState) at its last visit, and compares them with
// the current (sampling) policy's. On `choice` the first decision is the whole
// response, so D is exact; on multi-token tasks (chain, think) it is the first
// decision only (the paper's D is a sequence-level KL estimate from sampled
// tokens; the first decision is its cheap exact proxy here). zoo.md writes D
// as "mean |log pi_old - log pi_cur|"; the pi_now-weighted sum above is its
// exact expectation over the decision. The first rollout of a group uses
// rho(D); its siblings use rho(0) = 0.96 (clipped): the policy has not moved
// since the previous rollout of the prompt. Without a bound policy (`advlab
// advantage`, bare rewards) every rollout uses rho = 0.96.
//
// Initialisation (the paper warm-starts the tracker from an initial estimate
// with a prior count): a never-seen prompt's first group sets p_hat = its mean
// reward and alpha = n0 p_hat, beta = n0 (1 - p_hat), n0 = estimator.spo_n0
// (default 8, the number of offline samples of the paper's warm start —
// UNVERIFIED here: the paper's text was not reachable from this machine); the
// group then gets A = R - mean (Dr. GRPO) and is not added to the tracker again
// (it is the prior). Keys: estimator.spo_rho_min (default 0.5; zoo.md gives
// only the upper clip 0.96; the lower clip 0.5 and D_half 0.06 are those of the
// public MiniMind reimplementation, trainer/train_spo.py AutoAdaptiveValueTracker
// (clip_lower=0.5, clip_upper=0.96) — not checked against the paper's own code),
// estimator.spo_d_half (0.06), estimator.spo_n0.
//
// Batch normalisation: the mean and the UNBIASED (n-1) std of all the batch's
// raw A (torch.std's default, which verl's batch statistics use), epsilon 1e-6
// added to the std (verl's grpo convention, so an all-equal batch gives 0/1e-6
// = 0 exactly). A batch of one rollout gets mean 0, std 1 (VerlGroupMoments).
// The z-score re-associates with the batch order (conformance's group-order
// test holds to 1e-12, not bit for bit).
//
// All-correct / all-wrong groups: NOT zero once the prompt has history (A = 1 -
// p_hat or -p_hat before the z-score: SPO's point, no degenerate groups); a
// first group's are 0 before the batch z-score, -mean/std after. Singletons:
// fine (needs_groups = false: a single stream is the paper's setting).
// batch->baseline[r] = the p_hat rollout r was compared with (reward units).
//
// State: per prompt id alpha, beta, a seen flag and K log-probabilities, in
// vectors indexed by prompt id (sized at Bind from the task, grown on demand):
// no iteration over state affects results. Stateful: Clone copies it.
#ifndef ADVLAB_ESTIMATORS_SPO_H_
#define ADVLAB_ESTIMATORS_SPO_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "estimators/spo_step.h"
#include "sim/estimator.h"

namespace advlab {

struct SpoOptions {
  double rho_min = 0.5;
  double d_half = 0.06;
  double n0 = 8.0;
};

class SpoEstimator : public Estimator {
 public:
  SpoEstimator() = default;
  explicit SpoEstimator(const SpoOptions& options) : options_(options) {}
  // Reads the estimator.spo_* keys and keeps the task and policy (D); unbound
  // keeps the defaults and uses rho = 0.96.
  void Bind(const EstimatorContext& context) override;
  std::unique_ptr<Estimator> Clone() const override {
    return std::make_unique<SpoEstimator>(*this);
  }
  void Compute(Batch* batch) override;

  // The tracker's p_hat of a prompt (NaN before its first group).
  double Estimate(int32_t prompt) const;

 private:
  void Grow(int32_t prompt);

  SpoOptions options_;
  EstimatorContext context_;
  int num_actions_ = 0;              // K of the stored log-probabilities (0: unbound)
  std::vector<double> alpha_, beta_;  // [prompt]
  std::vector<uint8_t> seen_;         // [prompt]
  std::vector<double> logprob_;       // [prompt x K] log pi at FirstState, last visit
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_SPO_H_
