// The plain-data path of `choice` (envs/choice/choice_step.h, envs/pool_step.h,
// sim/sample_batch_step.h) against the virtual path and against reference
// copies of the code it replaced: the same bits.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "envs/choice/choice.h"
#include "envs/choice/choice_step.h"
#include "envs/pool_step.h"
#include "policies/tabular.h"
#include "sim/config.h"
#include "sim/sample_batch.h"
#include "sim/sample_batch_step.h"
#include "sim/sampling.h"

namespace advlab {
namespace {

Config Cfg(std::map<std::string, std::string> keys) { return Config::Resolve(keys); }

// A policy that forwards to another but hides its tables: tasks then read it
// through VirtualRows, the MLP's adaptor.
class ForwardingPolicy : public Policy {
 public:
  explicit ForwardingPolicy(Policy* p) : p_(p) {}
  int num_actions() const override { return p_->num_actions(); }
  int64_t num_params() const override { return p_->num_params(); }
  int64_t grad_block_size() const override { return p_->grad_block_size(); }
  double* params() override { return p_->params(); }
  const double* params() const override { return p_->params(); }
  const double* Probs(int32_t s) override { return p_->Probs(s); }
  const double* LogProbs(int32_t s) override { return p_->LogProbs(s); }
  double Entropy(int32_t s) override { return p_->Entropy(s); }
  void AccumulateGradRange(const Batch& b, const double* c, int begin, int end,
                           SparseGrad* g) override {
    p_->AccumulateGradRange(b, c, begin, end, g);
  }
  void ParamsChanged() override { p_->ParamsChanged(); }
  void BlocksChanged(const SparseGrad& g) override { p_->BlocksChanged(g); }

 private:
  Policy* p_;
};

template <class T, class A, class B>
bool SameBits(const A& a, const B& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

void ExpectSameBatch(const Batch& a, const Batch& b) {
  EXPECT_TRUE(SameBits<int32_t>(a.prompt, b.prompt));
  EXPECT_TRUE(SameBits<int32_t>(a.group_begin, b.group_begin));
  EXPECT_TRUE(SameBits<int32_t>(a.token_begin, b.token_begin));
  EXPECT_TRUE(SameBits<double>(a.reward, b.reward));
  EXPECT_TRUE(SameBits<uint8_t>(a.correct, b.correct));
  EXPECT_TRUE(SameBits<uint8_t>(a.truncated, b.truncated));
  EXPECT_TRUE(SameBits<int32_t>(a.token, b.token));
  EXPECT_TRUE(SameBits<int32_t>(a.state, b.state));
  EXPECT_TRUE(SameBits<double>(a.logprob, b.logprob));
}

// The rollout as it was written before the plain-data path (one lane at a
// time: SearchCdf4 gives SearchCdf's answer in every lane).
void ReferenceRollout(const ChoiceTask& task, int64_t step, const Philox& rng, Policy* policy,
                      const int32_t* prompts, int count, int G, Batch* batch) {
  const int K = task.num_actions(), kpad = PaddedSize(K);
  std::vector<double> cdf(kpad);
  for (int s = 0; s < count; ++s) {
    const int32_t p = prompts[s];
    BuildPaddedCdf(policy->Probs(p), K, kpad, cdf.data());
    batch->prompt.push_back(p);
    for (int i = 0; i < G; ++i) {
      const Words4 w = rng.Draw(Purpose::kRollout, static_cast<uint32_t>(step),
                                static_cast<uint32_t>(s), static_cast<uint32_t>(i / 4));
      const int a = SearchCdf(cdf.data(), kpad, U01(w.w[i % 4]));
      const bool ok = a == task.answer(p);
      batch->token.push_back(a);
      batch->state.push_back(p);
      batch->logprob.push_back(policy->LogProbs(p)[a]);
      batch->token_begin.push_back(static_cast<int32_t>(batch->token.size()));
      batch->reward.push_back(ok ? 1.0 : 0.0);
      batch->correct.push_back(ok);
      batch->truncated.push_back(0);
    }
    batch->group_begin.push_back(static_cast<int32_t>(batch->reward.size()));
  }
}

// Every drift schedule, with and without answer re-randomisation, a few seeds:
// the HD functions called directly with TabularRows (prompts, rollouts, oracle,
// gradient terms, greedy) give the bits of the virtual path through VirtualRows
// and of the reference rollout.
TEST(ChoiceStepTest, HdPathMatchesVirtualAdaptorBitForBit) {
  const int B = 6, G = 7;
  for (const std::string drift : {"none", "linear", "step", "cyclic", "random_walk"}) {
    for (const std::string rate : {"0", "0.25"}) {
      for (uint64_t seed : {1u, 2u, 3u}) {
        SCOPED_TRACE(drift + " rate " + rate + " seed " + std::to_string(seed));
        ChoiceTask task(Cfg({{"env.prompts", "40"}, {"env.answers", "11"}, {"env.drift", drift},
                             {"env.answer_rate", rate}, {"train.steps", "30"},
                             {"env.drift_period", "8"}, {"env.drift_walk_step", "0.1"}}),
                        seed);
        TabularPolicy policy = TabularPolicy::FromTask(task);
        const Philox init(seed + 100);
        for (int64_t i = 0; i < policy.num_params(); ++i) {
          policy.params()[i] += 2.0 * U01(init.Draw(Purpose::kInit, static_cast<uint32_t>(i), 0, 0).w[0]);
        }
        policy.ParamsChanged();
        ForwardingPolicy virtual_policy(&policy);
        const ChoiceModel& m = task.model();
        std::vector<double> cdf(m.cdf_pad);
        PoolData pool;
        for (int64_t step : {0, 3, 4, 9, 17, 29, 40}) {
          task.Advance(step);
          AdvancePool(m.pool, step, &pool);
          ASSERT_EQ(pool.window_start, task.window_start());
          const Philox rng = Philox(seed).Stream(static_cast<uint32_t>(step % 3));
          int32_t prompts[B], hd_prompts[B];
          task.DrawPrompts(step, rng, B, prompts);
          DrawPrompts(m.pool, pool, rng, step, B, hd_prompts);
          ASSERT_EQ(std::memcmp(prompts, hd_prompts, sizeof(prompts)), 0);

          Batch virt, tab, hd, ref;
          virt.Clear();
          tab.Clear();
          ref.Clear();
          hd.Clear();
          task.Rollout(step, rng, &virtual_policy, prompts, B, G, &virt);
          task.Rollout(step, rng, &policy, prompts, B, G, &tab);
          ReferenceRollout(task, step, rng, &policy, prompts, B, G, &ref);
          hd.Reserve(B, B * G, B * G);
          BatchView view = hd.OpenView(B, B * G, B * G);
          ChoiceRollout(m, *policy.tabular_rows(), step, step, rng, hd_prompts, B, G, cdf.data(),
                        &view);
          hd.CloseView(view);
          ExpectSameBatch(hd, virt);
          ExpectSameBatch(hd, tab);
          ExpectSameBatch(hd, ref);

          for (int32_t p = 0; p < 40; ++p) {
            TabularRows& rows = *policy.tabular_rows();
            const int32_t a = ChoiceAnswer(m, step, p);
            ASSERT_EQ(a, task.answer(p));
            const double pe = ChoiceSuccessProbability(m, rows, step, p);
            EXPECT_EQ(pe, task.SuccessProbability(&virtual_policy, p));
            EXPECT_EQ(pe, policy.Probs(p)[a]);
            GradientTerms hd_terms, virt_terms;
            ChoiceSuccessGradientTerms(m, rows, step, p, 0.5, hd_terms);
            task.SuccessGradientTerms(&virtual_policy, p, 0.5, &virt_terms);
            EXPECT_TRUE(SameBits<double>(hd_terms.coef, virt_terms.coef));
            EXPECT_TRUE(SameBits<int32_t>(hd_terms.batch.token, virt_terms.batch.token));
            EXPECT_TRUE(SameBits<int32_t>(hd_terms.batch.state, virt_terms.batch.state));
            int32_t hd_len = 0, virt_len = 0;
            EXPECT_EQ(ChoiceGreedyReward(m, rows, step, p, &hd_len),
                      task.GreedyReward(&virtual_policy, p, &virt_len));
            EXPECT_EQ(hd_len, virt_len);
          }
        }
      }
    }
  }
}

// The random walk as it was written before DriftWalk (a replay from step 0).
int32_t ReferenceWalk(const DriftModel& d, int64_t step) {
  const int64_t span = static_cast<int64_t>(d.num_prompts) - d.width;
  if (span <= 0) return 0;
  const int64_t stride = d.stride < span ? d.stride : span;
  int64_t pos = 0;
  for (int64_t t = 1; t <= step; ++t) {
    const uint32_t w = Philox(d.seed).Draw(Purpose::kDrift, static_cast<uint32_t>(t), 0, 0).w[0];
    int64_t x = pos + ((w & 1u) ? stride : -stride);
    if (x < 0) x = -x;
    if (x > span) x = 2 * span - x;
    pos = x;
  }
  return static_cast<int32_t>(pos);
}

// AdvancePool step by step (and after jumps back) gives DriftSchedule's window
// at every step of a random-walk and a cyclic run, and the reference walk.
TEST(ChoiceStepTest, HdDriftMatchesWindowStartEveryStep) {
  for (const std::string drift : {"random_walk", "cyclic"}) {
    SCOPED_TRACE(drift);
    Config c = Cfg({{"env.prompts", "100"}, {"env.drift", drift}, {"env.drift_width", "0.2"},
                    {"env.drift_walk_step", "0.03"}, {"env.drift_period", "37"},
                    {"train.steps", "600"}});
    ChoiceTask task(c, 5);
    const PoolModel& m = task.model().pool;
    PoolData d;
    for (int64_t t = 0; t < 600; ++t) {
      AdvancePool(m, t, &d);
      ASSERT_EQ(d.window_start, DriftSchedule::FromConfig(c, 100, 5).WindowStart(t)) << t;
      if (drift == "random_walk") {
        ASSERT_EQ(d.window_start, ReferenceWalk(m.drift, t)) << t;
      }
    }
    for (int64_t t : {17, 3, 450, 0, 599}) {  // back and forth
      AdvancePool(m, t, &d);
      EXPECT_EQ(d.window_start, task.drift().WindowStart(t)) << t;
    }
  }
}

// ObserveRewards (host, whole batch) equals ObserveGroupRewards group by group
// and the reference loop it replaced.
TEST(ChoiceStepTest, HdVerifierNoiseMatches) {
  ChoiceTask task(Cfg({{"env.prompts", "30"}, {"env.answers", "3"}}), 7);
  TabularPolicy policy = TabularPolicy::FromTask(task);
  RunConfig rc;
  rc.false_positive = 0.2;
  rc.false_negative = 0.3;
  const int B = 5, G = 9;
  int32_t prompts[B] = {0, 7, 13, 21, 29};
  const Philox rng(11);
  Batch batch;
  batch.Clear();
  task.Rollout(4, rng, &policy, prompts, B, G, &batch);
  Batch observed = batch;
  ObserveRewards(rc, rng, 4, &observed);
  const VerifierNoise noise = MakeVerifierNoise(0.2, 0.3);
  int flipped = 0;
  for (int g = 0; g < B; ++g) {
    double hd[G];
    ObserveGroupRewards(noise, rng, 4, g, G, batch.correct.data() + g * G, hd);
    for (int i = 0; i < G; ++i) {
      const int r = g * G + i;
      const uint32_t word = rng.Draw(Purpose::kVerifier, 4, g, i / 4).w[i % 4];
      const uint32_t fn = static_cast<uint32_t>(0.3 * 4294967296.0);
      const uint32_t fp = static_cast<uint32_t>(0.2 * 4294967296.0);
      const double want = batch.correct[r] ? (word < fn ? 0.0 : 1.0) : (word < fp ? 1.0 : 0.0);
      EXPECT_EQ(hd[i], want);
      EXPECT_EQ(observed.reward[r], want);
      flipped += want != batch.reward[r];
    }
  }
  EXPECT_GT(flipped, 0);
}

}  // namespace
}  // namespace advlab
