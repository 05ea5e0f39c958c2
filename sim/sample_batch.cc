#include "sim/sample_batch.h"

#include <vector>

#include "sim/check.h"
#include "sim/cost.h"
#include "sim/sample_batch_step.h"

namespace advlab {
namespace {

// Counts `rollouts` generated rollouts of `tokens` tokens, one inference round
// of them, in the step's sampling statistics (the cost model).
void CountGenerated(const RunConfig& rc, int64_t rollouts, int64_t tokens, SamplingStats* ss) {
  ss->generated_rollouts += rollouts;
  ss->generated_tokens += tokens;
  ss->infer_calls += InferCalls(rc, rollouts);
}

// One sampling round: B prompts, G rollouts each, observed rewards; counted.
void SampleRound(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  batch->Clear();
  st->task->DrawPrompts(step, rng, rc.batch_prompts, st->prompts.data());
  st->task->Rollout(step, rng, st->policy.get(), st->prompts.data(), rc.batch_prompts,
                    rc.group_size, batch);
  ObserveRewards(rc, rng, step, batch);
  st->sampling.rounds += 1;
  CountGenerated(rc, batch->num_rollouts(), batch->num_tokens(), &st->sampling);
}

// The stream of AAPO's reference rollouts: above every DAPO round's stream.
constexpr uint32_t kReferenceStream = 0x7fffffffu;
// The stream of AAPO's cached reference rollouts (estimator.aapo_reference =
// cached), on the training key whatever the batch's: prompt p's G rollouts are
// the draw at {p, 0, block}, the same every time p is drawn.
constexpr uint32_t kCachedReferenceStream = 0x7ffffffeu;

}  // namespace

void ObserveRewards(const RunConfig& rc, const Philox& rng, int64_t step, Batch* batch) {
  if (rc.false_positive == 0.0 && rc.false_negative == 0.0) return;
  const VerifierNoise noise = MakeVerifierNoise(rc.false_positive, rc.false_negative);
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g];
    ObserveGroupRewards(noise, rng, step, g, batch->group_begin[g + 1] - b,
                        batch->correct.data() + b, batch->reward.data() + b);
  }
}

namespace {

// The loop's Sampler: DAPO's round k on stream k of the step's key, AAPO's
// reference rollouts on kReferenceStream, ReMax's greedy decoding by the
// sampling policy; each counted in state->sampling for the cost model.
class LoopSampler : public Sampler {
 public:
  LoopSampler(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step)
      : rc_(rc), st_(st), rng_(rng), step_(step) {}

  bool Round(int k, Batch* out) override {
    SampleRound(rc_, st_, rng_.Stream(static_cast<uint32_t>(k)), step_, out);
    return true;
  }

  void ReferenceRewards(const Batch& batch, std::vector<double>* out) override {
    // G rollouts per prompt from pi_0, on their own stream, scored by the same
    // (noisy) verifier; index-aligned with the batch's rollouts.
    const Philox ref_rng = rng_.Stream(kReferenceStream);
    Batch& ref = st_->ref_batch;
    ref.Clear();
    if (rc_.reference_cached) {
      CachedReference(batch, &ref);
    } else {
      st_->task->Rollout(step_, ref_rng, st_->reference.get(), batch.prompt.data(),
                         batch.num_groups(), rc_.group_size, &ref);
      st_->sampling.extra_rollouts += ref.num_rollouts();
      CountGenerated(rc_, ref.num_rollouts(), ref.num_tokens(), &st_->sampling);
    }
    ObserveRewards(rc_, ref_rng, step_, &ref);
    out->assign(ref.reward.begin(), ref.reward.end());
  }

  void GreedyRewards(const Batch& batch, std::vector<double>* out) override {
    out->resize(batch.num_groups());
    int64_t tokens = 0;
    for (int g = 0; g < batch.num_groups(); ++g) {
      int32_t len = 0;
      (*out)[g] = st_->task->GreedyReward(st_->policy.get(), batch.prompt[g], &len);
      tokens += len;
    }
    st_->sampling.extra_rollouts += batch.num_groups();
    CountGenerated(rc_, batch.num_groups(), tokens, &st_->sampling);
  }

 private:
  // The cache: a prompt's reference tokens are a pure function of (seed,
  // prompt) since pi_0 is frozen, so re-drawing them at their coordinates is
  // the cached copy, bit for bit; the task scores them under the current
  // answers (a re-randomised answer re-scores, it does not re-generate). Only
  // a prompt's first draw is generated: counted, charged.
  void CachedReference(const Batch& batch, Batch* ref) {
    const Philox cache_rng = Philox(rc_.seed).Stream(kCachedReferenceStream);
    int64_t rollouts = 0, tokens = 0;
    for (int g = 0; g < batch.num_groups(); ++g) {
      const int32_t p = batch.prompt[g];
      const int r0 = ref->num_rollouts(), t0 = ref->num_tokens();
      st_->task->Rollout(p, cache_rng, st_->reference.get(), &p, 1, rc_.group_size, ref);
      ADVLAB_CHECK_LT(static_cast<size_t>(p), st_->reference_generated.size());
      uint8_t& generated = st_->reference_generated[p];
      if (generated == 0) {
        generated = 1;
        rollouts += ref->num_rollouts() - r0;
        tokens += ref->num_tokens() - t0;
      }
    }
    st_->sampling.extra_rollouts += rollouts;
    CountGenerated(rc_, rollouts, tokens, &st_->sampling);
  }

  const RunConfig& rc_;
  RunState* st_;
  const Philox rng_;
  int64_t step_;
};

}  // namespace

std::unique_ptr<Sampler> MakeLoopSampler(const RunConfig& rc, RunState* st, const Philox& rng,
                                         int64_t step) {
  return std::make_unique<LoopSampler>(rc, st, rng, step);
}

void SampleBatch(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  st->sampling = SamplingStats{};
  SampleRound(rc, st, rng, step, batch);
  // The estimator's own sampling (estimators/dapo, aapo, remax).
  LoopSampler sampler(rc, st, rng, step);
  st->estimator->Resample(&sampler, batch);
  st->estimator->SampleExtra(&sampler, *batch);
}

}  // namespace advlab
