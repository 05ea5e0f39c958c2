// What one step's sampling and update did: the counts behind the window
// metrics (sim/metrics.h) and the cost model (sim/cost.h).
#ifndef ADVLAB_SIM_STEP_STATS_H_
#define ADVLAB_SIM_STEP_STATS_H_

#include <cstdint>

namespace advlab {

// What sampling a step took (for DAPO's metrics and the cost model).
struct SamplingStats {
  int64_t rounds = 0;                  // sampling rounds (1 without DAPO)
  int64_t generated_rollouts = 0;      // all rollouts generated, kept or not
  int64_t generated_tokens = 0;        //   (reference and greedy ones included)
  int64_t extra_rollouts = 0;          // reference (AAPO) and greedy (ReMax) rollouts
  int64_t infer_calls = 0;             // inference calls (cost model)
};

// The statistics of one step's batch and updates.
struct StepStats {
  int64_t zero_adv = 0;          // rollouts with advantage exactly 0
  int64_t backprop = 0;          // tokens with a non-zero coefficient, over all updates
  int64_t backward_tokens = 0;   // tokens of the rollouts no filter removed, over all
                                 //   updates (the cost model's backward charge)
  int64_t length_sum = 0;        // tokens of the batch's rollouts
  int64_t same_groups = 0;       // groups whose rewards are all equal
  int64_t truncated = 0;         // truncated rollouts
  int64_t correct = 0;           // correct rollouts (truth, not the noisy reward)
  int64_t length_correct = 0;    // tokens of the correct rollouts
  int64_t kept = 0;              // rollouts kept after filtering
  double reward_sum = 0.0;       // verifier rewards (before any KL penalty)
  int64_t train_calls = 0;       // backward micro-batches, over all updates
  int64_t updates = 0;           // optimizer steps
  int64_t loss_tokens = 0;       // clipping losses: tokens in the loss, over all updates
  int64_t clipped = 0;           //   of those, tokens with an active clip
  double grad_norm_sum = 0.0;    // sum over updates of the gradient norm (pre-clip)
  int64_t kl_tokens = 0;         // tokens whose KL to pi_0 was measured
  double kl_sum = 0.0;           // sum of their KL estimates
  double kl_seq_sum = 0.0;       // sum over rollouts of each one's token-mean KL estimate
                                 //   (the adaptive KL controller's measure, / rollouts)
  // What the estimator judged (Estimator::AddStats; ADORA's tas_frac):
  int64_t judged_groups = 0;     // groups a reweighting modifier judged
  int64_t tas_groups = 0;        //   of those, judged temporarily advantageous
  double weight_sum = 0.0;       //   the weights it applied, summed over them (adora_weight)
  int64_t mixed_groups = 0;      //   of those, mixed: some rollout right, some wrong
  int64_t tas_mixed_groups = 0;  //   of the mixed ones, judged temporarily advantageous
  int64_t rejudged_groups = 0;   //   of those, groups whose prompt it had judged before
  int64_t flipped_groups = 0;    //     of those, judged otherwise than the last time
  double update_norm_sum = 0.0;  // sum over updates of the applied update's L2 norm
                                 //   (Optimizer::UpdateNorm)
};

}  // namespace advlab

#endif  // ADVLAB_SIM_STEP_STATS_H_
