#include "sim/gradient.h"

#include "sim/features.h"
#include "sim/loss.h"
#include "sim/policy_rows.h"

namespace advlab {

StepStats PrepareBatch(const RunConfig& rc, RunState* st, Batch* batch, Estimator* estimator) {
  Estimator* est = estimator != nullptr ? estimator : st->estimator.get();
  StepStats ss;
  if (rc.kl_coef > 0.0) {
    // KL of the sampling policy to pi_0 on every sampled token (the kl_ref
    // metric), and, with kl.where = reward, the per-token penalty -coef * KL
    // (estimators.md §5.2): token_reward, and its sum in the rollout's reward
    // for the estimator. The verifier's rewards come back after Compute.
    const bool shaping = rc.kl_in_reward;
    if (shaping) {
      st->scores = batch->reward;
      batch->token_reward.resize(batch->num_tokens());
    }
    TabularRows& ref_rows = *st->reference->tabular_rows();  // pi_0 is tabular
    const double coef = st->kl_coef;  // kl.coef, or the adaptive controller's value
    for (int r = 0; r < batch->num_rollouts(); ++r) {
      double penalty = 0.0, seq = 0.0;
      for (int t = batch->token_begin[r]; t < batch->token_begin[r + 1]; ++t) {
        const double ref = ref_rows.LogProbs(batch->state[t])[batch->token[t]];
        const double k = KlPenalty(rc.kl_estimator, batch->logprob[t] - ref).value;
        ss.kl_sum += k;
        seq += k;
        if (shaping) {
          batch->token_reward[t] = -coef * k;
          penalty += batch->token_reward[t];
        }
      }
      if (batch->length(r) > 0) ss.kl_seq_sum += seq / batch->length(r);
      if (shaping) batch->reward[r] += penalty;
    }
    ss.kl_tokens = batch->num_tokens();
    est->Compute(batch);
    if (shaping) batch->reward = st->scores;
  } else {
    est->Compute(batch);
  }
  {
    // Through a copy: ss's address must not escape, or its fields leave the
    // registers in the loops below (callgrind: +2000 instructions a step).
    StepStats judged;
    est->AddStats(&judged);
    ss.judged_groups = judged.judged_groups;
    ss.tas_groups = judged.tas_groups;
    ss.weight_sum = judged.weight_sum;
    ss.mixed_groups = judged.mixed_groups;
    ss.tas_mixed_groups = judged.tas_mixed_groups;
    ss.rejudged_groups = judged.rejudged_groups;
    ss.flipped_groups = judged.flipped_groups;
  }
  const int n = batch->num_rollouts();
  const double* ADVLAB_RESTRICT adv = batch->advantage.data();
  const double* ADVLAB_RESTRICT reward = batch->reward.data();
  const uint8_t* ADVLAB_RESTRICT correct = batch->correct.data();
  const uint8_t* ADVLAB_RESTRICT truncated = batch->truncated.data();
  const int32_t* ADVLAB_RESTRICT tb = batch->token_begin.data();
  ss.length_sum = tb[n] - tb[0];
  ss.kept = n;
  if (!batch->kept.empty()) {
    ss.kept = 0;
    for (int r = 0; r < n; ++r) ss.kept += batch->kept[r] != 0 ? 1 : 0;
  }
  for (int r = 0; r < n; ++r) {
    ss.zero_adv += adv[r] == 0.0 ? 1 : 0;
    ss.truncated += truncated[r];
    ss.correct += correct[r];
    ss.length_correct += correct[r] ? tb[r + 1] - tb[r] : 0;
    ss.reward_sum += reward[r];  // in rollout order, as before
  }
  for (int g = 0; g < batch->num_groups(); ++g) ss.same_groups += batch->RewardsAllEqual(g) ? 1 : 0;
  return ss;
}

namespace {

// MinibatchGradient; with kMasked, the coefficients (and entropy terms) of the
// rollouts with include[r] == 0 are zeroed after they are computed, so that
// normalisers, micro-batches and the loss see the whole batch (the training
// step instantiates kMasked = false: no extra work there).
template <bool kMasked>
void MinibatchGradientImpl(const RunConfig& rc, RunState* st, const Batch& batch, int g0, int g1,
                           SparseGrad* grad, StepStats* stats, const uint8_t* include) {
  grad->Clear();
  // Rollouts a filter dropped get no coefficient and are not back-propagated;
  // they leave the normalisers R and T unless estimator.dash_normalizer =
  // generated keeps them there (then filtering does not enlarge the step).
  const bool filtered = !batch.kept.empty();
  const int r0 = batch.group_begin[g0], r1 = batch.group_begin[g1];
  int R = r1 - r0, T = batch.token_begin[r1] - batch.token_begin[r0];
  int kept_rollouts = R;
  if (filtered) {
    int kept_tokens = 0;
    kept_rollouts = 0;
    for (int r = r0; r < r1; ++r) {
      if (batch.kept[r]) {
        kept_rollouts += 1;
        kept_tokens += batch.length(r);
      }
    }
    if (!rc.filter_normalize_generated) {
      R = kept_rollouts;
      T = kept_tokens;
    }
  }
  st->coef.resize(batch.num_tokens());
  if (kept_rollouts == 0) {  // nothing to back-propagate; the coefficients are 0
    for (int t = batch.token_begin[r0]; t < batch.token_begin[r1]; ++t) st->coef[t] = 0.0;
    return;
  }
  // Loss = sum_t coef_t * log pi(token_t | state_t) (+ the entropy terms), with
  // coef = w_t * dl_t / dlog pi (sim/loss.h, sim/policy_loss.h).
  const double scale =
      rc.loss_scale > 0.0 ? rc.loss_scale : static_cast<double>(st->task->max_length());
  // The weight depends on the rollout only under seq-mean-token-mean.
  const bool per_token = rc.loss_agg == LossAgg::kSeqMeanTokenMean;
  const double weight = TokenWeight(rc.loss_agg, 1, R, T, scale);
  const PolicyLossEntry& loss = *rc.loss;
  const bool kl_loss = rc.kl_coef > 0.0 && !rc.kl_in_reward;
  const double kl_coef = st->kl_coef;  // kl.coef, or the adaptive controller's value
  const bool entropy = rc.entropy_coef != 0.0;
  const bool token_adv = !batch.token_advantage.empty();
  const bool need_lp = loss.needs_ratio || kl_loss;
  // One coefficient per rollout when it is -A w on every token.
  const bool simple = loss.minus_advantage && !kl_loss && !entropy && !token_adv;
  Policy& pi = *st->policy;
  const int K = pi.num_actions();
  TabularRows* ref_rows = kl_loss ? st->reference->tabular_rows() : nullptr;  // pi_0
  if (need_lp) st->logprob.resize(batch.num_tokens());
  double* ADVLAB_RESTRICT coef = st->coef.data();
  double* ADVLAB_RESTRICT lp = st->logprob.data();
  const int32_t* ADVLAB_RESTRICT tb = batch.token_begin.data();
  // A batch-level loss (clip_cov, kl_cov) first sees every kept rollout of the
  // minibatch at the current parameters and marks tokens; the micro-batches
  // below reuse these log-probabilities and marks (so train.micro_batch still
  // changes no bit).
  const bool prepass = loss.batch_prepass;
  if (prepass) {
    st->loss_mark.resize(batch.num_tokens());
    st->prepass_rollouts.clear();
    st->prepass_first.clear();
    st->prepass_mark.clear();
    WithRows(&pi, [&](auto& rows) {
      for (int q = r0; q < r1; ++q) {
        if (filtered && batch.kept[q] == 0) continue;
        const int len = tb[q + 1] - tb[q];
        for (int t = tb[q]; t < tb[q + 1]; ++t) {
          lp[t] = rows.LogProbs(batch.state[t])[batch.token[t]];
        }
        LossRollout view;
        view.len = len;
        view.weight = per_token ? TokenWeight(rc.loss_agg, len, R, T, scale) : weight;
        view.advantage = batch.advantage[q];
        view.token_advantage = token_adv ? batch.token_advantage.data() + tb[q] : nullptr;
        view.logprob_old = batch.logprob.data() + tb[q];
        view.logprob = lp + tb[q];
        st->prepass_rollouts.push_back(view);
        st->prepass_first.push_back(tb[q]);
        st->prepass_mark.push_back(st->loss_mark.data() + tb[q]);
      }
    });
    LossBatch lb;
    lb.rollouts = st->prepass_rollouts.data();
    lb.n = static_cast<int>(st->prepass_rollouts.size());
    lb.first_token = st->prepass_first.data();
    lb.mark = st->prepass_mark.data();
    lb.rng = st->rng;
    lb.step = static_cast<uint32_t>(st->step);
    lb.update = static_cast<uint32_t>(st->updates);
    st->loss->Prepass(lb);
  }
  // Micro-batches: consecutive runs of micro_batch kept rollouts, in order.
  int r = r0;
  while (r < r1) {
    const int first = r;
    int count = 0;
    if (rc.micro_batch == 0) {  // one micro-batch: every kept rollout
      r = r1;
      count = kept_rollouts;
    }
    while (r < r1 && count < rc.micro_batch) {
      count += !filtered || batch.kept[r] ? 1 : 0;
      ++r;
    }
    if (count == 0) {  // only dropped rollouts: nothing to back-propagate
      for (int t = tb[first]; t < tb[r]; ++t) coef[t] = 0.0;
      continue;
    }
    // The cost model's backward tokens: every token of every kept rollout, as
    // a trainer back-propagates every row (the zero-coefficient skip below is
    // the simulator's saving, not the trainer's).
    int64_t backward = tb[r] - tb[first];
    if (filtered) {
      for (int q = first; q < r; ++q) backward -= batch.kept[q] ? 0 : tb[q + 1] - tb[q];
    }
    stats->backward_tokens += backward;
    int64_t nonzero = 0;
    if (simple) {
      const double* ADVLAB_RESTRICT adv = batch.advantage.data();
      const uint8_t* ADVLAB_RESTRICT kept = batch.kept.data();
      for (int q = first; q < r; ++q) {
        const bool keep = !filtered || kept[q] != 0;
        const int len = tb[q + 1] - tb[q];
        // MinusAdvantageCoefficient, with the weight computed only for A != 0
        // (as an argument it is computed for every rollout: callgrind +0.5%).
        const double a = keep && (!kMasked || include[q] != 0) ? adv[q] : 0.0;
        const double c =
            a == 0.0 ? 0.0 : -a * (per_token ? TokenWeight(rc.loss_agg, len, R, T, scale) : weight);
        for (int t = tb[q]; t < tb[q + 1]; ++t) coef[t] = c;
        nonzero += c != 0.0 ? len : 0;
      }
      pi.AccumulateGradRange(batch, coef, tb[first], tb[r], grad);
      stats->backprop += nonzero;
      stats->train_calls += 1;
      continue;
    }
    if (entropy) st->terms.Clear();
    // Per token, the policy's rows (tabular: plain data, no virtual call; the
    // mlp: the Policy adaptor), one dispatch per micro-batch.
    WithRows(&pi, [&](auto& rows) {
      // Pass 1: the kept rollouts' loss views (log pi where a term reads it),
      // then their coefficients in one call to the loss.
      st->loss_rollouts.clear();
      st->loss_coef.clear();
      for (int q = first; q < r; ++q) {
        const bool keep = !filtered || batch.kept[q] != 0;
        const int len = tb[q + 1] - tb[q];
        if (!keep) {
          for (int t = tb[q]; t < tb[q + 1]; ++t) coef[t] = 0.0;
          continue;
        }
        stats->loss_tokens += loss.reports_clipping ? len : 0;  // clip_frac's denominator
        const double w = per_token ? TokenWeight(rc.loss_agg, len, R, T, scale) : weight;
        if (need_lp && !prepass) {  // the prepass computed them
          for (int t = tb[q]; t < tb[q + 1]; ++t) {
            lp[t] = rows.LogProbs(batch.state[t])[batch.token[t]];
          }
        }
        LossRollout view;
        view.len = len;
        view.weight = w;
        view.advantage = batch.advantage[q];
        view.token_advantage = token_adv ? batch.token_advantage.data() + tb[q] : nullptr;
        view.logprob_old = batch.logprob.data() + tb[q];
        view.logprob = need_lp ? lp + tb[q] : nullptr;
        view.mark = prepass ? st->loss_mark.data() + tb[q] : nullptr;
        st->loss_rollouts.push_back(view);
        double* const out = coef + tb[q];
        st->loss_coef.push_back(out);
      }
      st->loss->CoefficientsRange(st->loss_rollouts.data(),
                                  static_cast<int>(st->loss_rollouts.size()),
                                  st->loss_coef.data(), &stats->clipped);
      // Pass 2, in rollout order: KL in the loss and the entropy bonus.
      int i = 0;
      for (int q = first; q < r; ++q) {
        if (filtered && batch.kept[q] == 0) continue;
        const double w = st->loss_rollouts[i++].weight;
        if (kMasked && include[q] == 0) {
          for (int t = tb[q]; t < tb[q + 1]; ++t) coef[t] = 0.0;
          continue;
        }
        for (int t = tb[q]; t < tb[q + 1]; ++t) {
          double c = coef[t];
          if (kl_loss) {
            const double ref = ref_rows->LogProbs(batch.state[t])[batch.token[t]];
            c += kl_coef * KlPenalty(rc.kl_estimator, lp[t] - ref).dlogp * w;
            coef[t] = c;
          }
          // With the entropy bonus every token of a kept rollout is back-propagated.
          nonzero += c != 0.0 || entropy ? 1 : 0;
          if (entropy) {
            // loss -= coef_H * w * H(s): d/dtheta = coef_H * w * sum_a pi_a
            // (log pi_a + H) grad log pi_a (sum_a pi_a grad log pi_a = 0 centres it).
            const int32_t s = batch.state[t];
            const double* p = rows.Probs(s);
            const double* lps = rows.LogProbs(s);
            const double h = RowEntropy(p, lps, K);
            st->terms.Add(s, batch.token[t], c);
            for (int a2 = 0; a2 < K; ++a2) {
              st->terms.Add(s, a2, rc.entropy_coef * w * (p[a2] * (lps[a2] + h)));
            }
          }
        }
      }
    });
    if (entropy) {
      pi.AccumulateGradRange(st->terms.batch, st->terms.coef.data(), 0,
                             st->terms.batch.num_tokens(), grad);
    } else {
      pi.AccumulateGradRange(batch, coef, tb[first], tb[r], grad);
    }
    stats->backprop += nonzero;
    stats->train_calls += 1;
  }
  pi.FinishGrad(grad);
}

}  // namespace

void MinibatchGradient(const RunConfig& rc, RunState* st, const Batch& batch, int g0, int g1,
                       SparseGrad* grad, StepStats* stats) {
  MinibatchGradientImpl<false>(rc, st, batch, g0, g1, grad, stats, nullptr);
}

void MaskedBatchGradient(const RunConfig& rc, RunState* st, const Batch& batch,
                         const uint8_t* include, SparseGrad* grad) {
  StepStats unused;
  MinibatchGradientImpl<true>(rc, st, batch, 0, batch.num_groups(), grad, &unused, include);
}

StepStats LossGradient(const RunConfig& rc, RunState* st, Batch* batch, SparseGrad* grad,
                       Estimator* estimator) {
  StepStats ss = PrepareBatch(rc, st, batch, estimator);
  MinibatchGradient(rc, st, *batch, 0, batch->num_groups(), grad, &ss);
  return ss;
}

}  // namespace advlab
