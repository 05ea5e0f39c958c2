#include "sim/sample_batch.h"

#include <utility>

#include "sim/check.h"
#include "sim/cost.h"

namespace advlab {
namespace {

// One sampling round: B prompts, G rollouts each, observed rewards.
void SampleRound(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  batch->Clear();
  st->task->DrawPrompts(step, rng, rc.batch_prompts, st->prompts.data());
  st->task->Rollout(step, rng, st->policy.get(), st->prompts.data(), rc.batch_prompts,
                    rc.group_size, batch);
  ObserveRewards(rc, rng, step, batch);
}

// The stream of AAPO's reference rollouts: above every DAPO round's stream.
constexpr uint32_t kReferenceStream = 0x7fffffffu;

}  // namespace

void ObserveRewards(const RunConfig& rc, const Philox& rng, int64_t step, Batch* batch) {
  if (rc.false_positive == 0.0 && rc.false_negative == 0.0) return;
  const uint32_t fp = static_cast<uint32_t>(rc.false_positive * 4294967296.0);
  const uint32_t fn = static_cast<uint32_t>(rc.false_negative * 4294967296.0);
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g], e = batch->group_begin[g + 1];
    Words4 w{};
    for (int r = b; r < e; ++r) {
      const int i = r - b;
      if (i % 4 == 0) {
        w = rng.Draw(Purpose::kVerifier, static_cast<uint32_t>(step), static_cast<uint32_t>(g),
                     static_cast<uint32_t>(i / 4));
      }
      const uint32_t word = w.w[i % 4];
      const bool ok = batch->correct[r] != 0;
      batch->reward[r] = ok ? (word < fn ? 0.0 : 1.0) : (word < fp ? 1.0 : 0.0);
    }
  }
}

void SampleBatch(const RunConfig& rc, RunState* st, const Philox& rng, int64_t step,
                 Batch* batch) {
  SampleRound(rc, st, rng, step, batch);
  SamplingStats& ss = st->sampling;
  ss = SamplingStats{};
  ss.rounds = 1;
  ss.generated_rollouts = batch->num_rollouts();
  ss.generated_tokens = batch->num_tokens();
  ss.infer_calls = InferCalls(rc, batch->num_rollouts());
  if (rc.dynamic_sampling) {
    // DAPO: keep the informative groups, in order, round after round.
    Batch& out = st->dapo_out;
    out.Clear();
    for (int g = 0; g < batch->num_groups() && out.num_groups() < rc.batch_prompts; ++g) {
      if (!batch->RewardsAllEqual(g)) out.AppendGroup(*batch, g);
    }
    for (int k = 0; k < rc.dapo_max_resample && out.num_groups() < rc.batch_prompts; ++k) {
      SampleRound(rc, st, rng.Stream(static_cast<uint32_t>(k)), step, &st->dapo_round);
      const Batch& round = st->dapo_round;
      ss.rounds += 1;
      ss.generated_rollouts += round.num_rollouts();
      ss.generated_tokens += round.num_tokens();
      ss.infer_calls += InferCalls(rc, round.num_rollouts());
      for (int g = 0; g < round.num_groups() && out.num_groups() < rc.batch_prompts; ++g) {
        if (!round.RewardsAllEqual(g)) out.AppendGroup(round, g);
      }
    }
    std::swap(*batch, out);
  }
  if (rc.reference_rollouts) {
    // AAPO: G rollouts per final prompt from pi_0, on their own stream, scored
    // by the same (noisy) verifier; index-aligned with the batch's rollouts.
    const Philox ref_rng = rng.Stream(kReferenceStream);
    Batch& ref = st->ref_batch;
    ref.Clear();
    st->task->Rollout(step, ref_rng, st->reference.get(), batch->prompt.data(),
                      batch->num_groups(), rc.group_size, &ref);
    ObserveRewards(rc, ref_rng, step, &ref);
    batch->ref_reward = ref.reward;
    ss.generated_rollouts += ref.num_rollouts();
    ss.generated_tokens += ref.num_tokens();
    ss.extra_rollouts += ref.num_rollouts();
    ss.infer_calls += InferCalls(rc, ref.num_rollouts());
  }
  if (rc.greedy) {
    // ReMax: one greedy response per prompt, decoded by the sampling policy.
    batch->greedy_reward.resize(batch->num_groups());
    for (int g = 0; g < batch->num_groups(); ++g) {
      int32_t len = 0;
      batch->greedy_reward[g] = st->task->GreedyReward(st->policy.get(), batch->prompt[g], &len);
      ADVLAB_CHECK(batch->greedy_reward[g] == batch->greedy_reward[g]);  // not NaN
      ss.generated_tokens += len;
    }
    ss.generated_rollouts += batch->num_groups();
    ss.extra_rollouts += batch->num_groups();
    ss.infer_calls += InferCalls(rc, batch->num_groups());
  }
}

}  // namespace advlab
