// Policy losses (train.loss), registered by name like estimators.
//
// The loss of a batch is L = sum_t w_t l_t over the kept rollouts' tokens
// (w_t: the aggregation weight, sim/loss.h). The loop needs, per token, only the
// coefficient c_t = w_t dl_t / dlog pi_t: the gradient is sum_t c_t grad log pi_t.
// A loss computes the coefficients of one rollout at a time, so a loss with one
// importance ratio per response (GSPO, GMPO) or a soft gate (SAPO) sees all of
// the rollout's tokens at once. Implementations live in losses/, one file each,
// registered with ADVLAB_REGISTER_LOSS; the header of each opens with its formula
// and citation. Each loss's arithmetic is a host/device function of a
// LossRollout (ADVLAB_HD, e.g. PpoCoefficients): the class is its host adaptor.
//
// Batch-level losses (clip_cov, kl_cov: they pick tokens by a covariance
// centred over the batch) set PolicyLossEntry::batch_prepass: once per
// minibatch, before any coefficient, the loop hands Prepass every kept rollout
// of the minibatch at the current parameters, and the loss marks tokens
// (LossRollout::mark); the micro-batches then see those marks. The prepass
// spans the whole minibatch, so train.micro_batch still changes no bit (verl
// computes the covariance per micro-batch; the two agree with one micro-batch
// per minibatch, verl's ppo_micro_batch_size = ppo_mini_batch_size).
#ifndef ADVLAB_SIM_POLICY_LOSS_H_
#define ADVLAB_SIM_POLICY_LOSS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim/config.h"
#include "sim/features.h"
#include "sim/registry.h"
#include "sim/rng.h"

namespace advlab {

// One kept rollout as a loss sees it.
struct LossRollout {
  int len = 0;                        // tokens
  double weight = 0.0;                // w: the aggregation weight of each of its tokens
  double advantage = 0.0;             // sequence advantage (used when token_advantage is null)
  const double* token_advantage = nullptr;  // [len] per-token advantages, or null
  const double* logprob_old = nullptr;      // [len] log pi_old of the sampled tokens
  const double* logprob = nullptr;          // [len] log pi at the current parameters
                                            //   (null unless the entry needs_ratio)
  const uint8_t* mark = nullptr;            // [len] tokens the batch prepass marked
                                            //   (1), or null: none (batch_prepass)
  ADVLAB_HD double Advantage(int i) const {
    return token_advantage ? token_advantage[i] : advantage;
  }
};

// What a batch prepass sees: the minibatch's kept rollouts in batch order, and
// the coordinates of its random draws (a counter-based draw per token, keyed
// by the run's seed: sim/rng.h Purpose::kLossSelect).
struct LossBatch {
  const LossRollout* rollouts = nullptr;  // [n]
  int n = 0;
  const int32_t* first_token = nullptr;   // [n] index of each one's first token in the batch
  uint8_t* const* mark = nullptr;         // [n] where each one's [len] marks go
  Philox rng{0};                          // keyed by the run's seed
  uint32_t step = 0;                      // the training step (RunState::step)
  uint32_t update = 0;                    // optimizer steps taken before this one
};

class PolicyLoss {
 public:
  virtual ~PolicyLoss() = default;
  // coef[i] = w dl_i / dlog pi_i for the rollout's tokens i in [0, len); adds to
  // *clipped the tokens where a clip or gate zeroed the gradient (clip_frac).
  virtual void Coefficients(const LossRollout& r, double* coef, int64_t* clipped) const = 0;
  // The coefficients of n rollouts, rollout i's into coef[i]: one virtual call
  // per micro-batch. Losses override it with a loop over their host/device
  // function; the default calls Coefficients per rollout.
  virtual void CoefficientsRange(const LossRollout* r, int n, double* const* coef,
                                 int64_t* clipped) const {
    for (int i = 0; i < n; ++i) Coefficients(r[i], coef[i], clipped);
  }
  // The rollout's share of the loss, sum_i w l_i (tests, finite differences).
  virtual double Value(const LossRollout& r) const = 0;
  // The loss as autograd sees it: the factors under a stop-gradient (GSPO's
  // sg[s_i], CISPO's sg(clip(r))) evaluated at sg_logprob, the rest at
  // r.logprob. Its derivative in r.logprob at r.logprob = sg_logprob is the
  // coefficients (tests, finite differences). Default: Value (no such factor).
  virtual double SurrogateValue(const LossRollout& r, const double* sg_logprob) const {
    (void)sg_logprob;
    return Value(r);
  }
  // batch_prepass losses: writes b.mark[i][0, len) for every rollout i of b
  // (once per minibatch, before Coefficients). Default: marks nothing.
  virtual void Prepass(const LossBatch& b) const {
    for (int i = 0; i < b.n; ++i) {
      for (int t = 0; t < b.rollouts[i].len; ++t) b.mark[i][t] = 0;
    }
  }
};

struct PolicyLossEntry {
  std::string name;
  std::string description;  // one line, `advlab list losses`
  std::function<std::unique_ptr<PolicyLoss>(const Config&)> make;
  // Reads log pi at the current parameters (an importance ratio).
  bool needs_ratio = false;
  // May reuse a batch: train.epochs and train.minibatches above 1 are allowed.
  bool off_policy = false;
  // Reports clipped tokens (the clip_frac metric; NaN for other losses).
  bool reports_clipping = false;
  // dl/dlog pi = -A at every token (REINFORCE's loss): the loop may then write
  // one coefficient per rollout without calling Coefficients (the fast path).
  bool minus_advantage = false;
  // Marks tokens from the whole minibatch first (PolicyLoss::Prepass).
  bool batch_prepass = false;
};

using PolicyLossRegistry = Registry<PolicyLossEntry>;

#define ADVLAB_REGISTER_LOSS(ident, ...)                     \
  static const bool advlab_loss_registered_##ident =         \
      ::advlab::PolicyLossRegistry::Get().Add(::advlab::PolicyLossEntry{__VA_ARGS__})

// The coefficient w dl/dlog pi of REINFORCE's loss -A log pi: -A w, and exactly
// 0 for A = 0 (such tokens are skipped in the gradient). losses/pg uses it; the
// loop's one-coefficient-per-rollout path (minus_advantage) writes the same
// expression inline so the weight is computed only for A != 0.
ADVLAB_HD inline double MinusAdvantageCoefficient(double advantage, double weight) {
  return advantage == 0.0 ? 0.0 : -advantage * weight;
}

// KeyUse of a key that only off-policy losses read (train.epochs, ...).
KeyUse UsedWithOffPolicyLoss();
// KeyUse of a key that one loss reads (its own hyperparameters).
inline KeyUse UsedWithLoss(const std::string& name) { return UsedWhen("train.loss", {name}); }

}  // namespace advlab

#endif  // ADVLAB_SIM_POLICY_LOSS_H_
