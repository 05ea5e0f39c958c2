// Estimator: turns the rewards of a batch into per-rollout advantages.
//
// Static estimators are pure functions of the batch; dynamic ones (later issues)
// keep state across steps in their own object, which lives in RunState.
// Registered by name; see estimators/ for the implementations, each header opening
// with its formula and citation.
#ifndef ADVLAB_SIM_ESTIMATOR_H_
#define ADVLAB_SIM_ESTIMATOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/batch.h"
#include "sim/registry.h"
#include "sim/step_stats.h"

namespace advlab {

class Policy;
class Task;

class Config;

// What an estimator may read besides the batch: the run's resolved config (its
// own keys, e.g. estimator.ema_beta), the task's exact oracle, the current
// (sampling) policy and the verifier's noise rates. Bound once per run; unbound
// (all null) in `advlab advantage`, where estimators use their defaults.
struct EstimatorContext {
  const Config* config = nullptr;
  Task* task = nullptr;
  Policy* policy = nullptr;
  double false_positive = 0.0;
  double false_negative = 0.0;
};

// Sampling an estimator or modifier asks for beyond the step's B x G policy
// rollouts: DAPO's resampling rounds, AAPO's reference rollouts, ReMax's greedy
// responses. In training the loop serves it (sim/sample_batch.cc: every draw on
// its own Philox stream, every rollout and token counted in the cost model); on
// bare rewards `advlab advantage` serves it from files (FixedSampler).
class Sampler {
 public:
  virtual ~Sampler() = default;
  // Resampling round k = 0, 1, ...: B fresh prompts x G rollouts from the
  // sampling policy with observed rewards, into *out. False when no round can
  // be drawn (bare rewards).
  virtual bool Round(int k, Batch* out) = 0;
  // Observed rewards of G rollouts per group of `batch` from the frozen initial
  // policy, index-aligned with the batch's rollouts (AAPO).
  virtual void ReferenceRewards(const Batch& batch, std::vector<double>* out) = 0;
  // The reward of one greedy response per group of `batch`, decoded by the
  // sampling policy (ReMax).
  virtual void GreedyRewards(const Batch& batch, std::vector<double>* out) = 0;
};

// A Sampler of given values (`advlab advantage --reference/--greedy`, tests):
// no resampling rounds.
class FixedSampler : public Sampler {
 public:
  std::vector<double> reference;  // [rollouts]
  std::vector<double> greedy;     // [groups]
  bool Round(int, Batch*) override { return false; }
  void ReferenceRewards(const Batch&, std::vector<double>* out) override { *out = reference; }
  void GreedyRewards(const Batch&, std::vector<double>* out) override { *out = greedy; }
};

class Estimator {
 public:
  virtual ~Estimator() = default;
  // Called once before training (estimators that read the oracle keep it).
  virtual void Bind(const EstimatorContext& context) {}
  // A copy with the same state, for computations that must not advance it
  // (the exact-gradient diagnostics' extra batches). Estimators that keep no
  // state across calls return nullptr: they can be used as they are.
  virtual std::unique_ptr<Estimator> Clone() const { return nullptr; }
  // Sampling hooks, called once per sampled batch before Compute: Resample may
  // replace the batch (DAPO); SampleExtra then draws what Compute reads besides
  // the batch and keeps it in the object (AAPO, ReMax). Default: nothing.
  virtual void Resample(Sampler* sampler, Batch* batch) {}
  virtual void SampleExtra(Sampler* sampler, const Batch& batch) {}
  // Writes batch->advantage[r] for every rollout r (resizing it to the number of
  // rollouts) from the rewards, groups and lengths of the batch.
  virtual void Compute(Batch* batch) = 0;
  // Adds what the last Compute judged to the step's statistics (ADORA's
  // judgements, for tas_frac). Default: nothing.
  virtual void AddStats(StepStats* stats) const {}
};

struct EstimatorEntry {
  std::string name = "";
  std::string description = "";  // one line, shown by `advlab list estimators`
  // True when the estimator compares rollouts within a group (grpo, rloo, ...):
  // a training config with train.group_size = 1 is then rejected as a mistake.
  bool needs_groups = false;
  std::function<std::unique_ptr<Estimator>()> make = nullptr;
  // True when Compute needs a bound task and policy (exact-oracle baselines):
  // such estimators cannot run on bare rewards (`advlab advantage`).
  bool needs_task = false;
  // True for ReMax: SampleExtra asks the sampler for one greedy response per
  // prompt (it counts in the sampling cost); `advlab advantage` reads them from
  // --greedy.
  bool needs_greedy = false;
  // True for gae: on bare rewards (`advlab advantage`) it needs the critic's
  // values, from --values (batch->value); in training its own critic gives them.
  bool needs_values = false;
  // True when Compute whitens over all valid tokens of the batch (verl
  // masked_whiten: reinforce_pp, reinforce_pp_baseline, gae), which needs at
  // least 2 (or none: an empty batch is left alone). Planning refuses a batch
  // that could have exactly one or a non-empty one without: `advlab advantage`
  // on its input, training when train.batch_prompts x train.group_size < 2.
  bool whitens_tokens = false;
  // Why the estimator cannot run on groups of `group_size` rollouts with the
  // keys of `config` (nullptr: the defaults, as in `advlab advantage`), or ""
  // when it can: one line naming the key (grpo_passk needs 2 rollouts; passk
  // and pkpo need estimator.passk_k <= the group size). Training planning
  // calls it with train.group_size; `advlab advantage` with each group's size.
  // May be empty.
  std::function<std::string(const Config* config, int group_size)> group_refusal = nullptr;
};

using EstimatorRegistry = Registry<EstimatorEntry>;

// Modifier: composes with a base estimator by name ("grpo+adora",
// "rloo+dash", "grpo+adora+dash"), applied in order after the base estimator
// computed the advantages. It may rescale advantages (ADORA's per-prompt weights)
// or drop rollouts from the update (batch->kept = 0: DASH's filter).
class Modifier {
 public:
  virtual ~Modifier() = default;
  virtual void Bind(const EstimatorContext& context) {}
  // Sampling hooks, as Estimator's (the base's run first, then each modifier's).
  virtual void Resample(Sampler* sampler, Batch* batch) {}
  virtual void SampleExtra(Sampler* sampler, const Batch& batch) {}
  virtual void Apply(Batch* batch) = 0;
  // As Estimator::AddStats, for the last Apply.
  virtual void AddStats(StepStats* stats) const {}
  // A copy with the same state (see Estimator::Clone); nullptr when stateless.
  virtual std::unique_ptr<Modifier> Clone() const { return nullptr; }
};

struct ModifierEntry {
  std::string name = "";
  std::string description = "";  // one line
  bool needs_groups = false;  // reads group statistics (refuses train.group_size = 1)
  std::function<std::unique_ptr<Modifier>()> make = nullptr;
  // Refuses (UserError) a config whose task lacks what the modifier reads, e.g.
  // ADORA's length criterion on one-token responses. May be empty.
  std::function<void(const Config& config, const Task& task)> check = nullptr;
  // True for AAPO: SampleExtra asks the sampler for group_size rollouts per
  // prompt from the frozen initial policy (the loop then keeps pi_0; they count
  // in the sampling cost); `advlab advantage` reads them from --reference.
  bool needs_reference = false;
  // True when Apply needs a bound task and policy (seed_grpo's exact answer
  // entropy): the modifier cannot run on bare rewards (`advlab advantage`).
  bool needs_task = false;
  // Batches of the step's size the modifier keeps as scratch (DAPO: the groups
  // collected and one round), for the memory estimate at planning.
  int scratch_batches = 0;
  // True for DAPO: Resample replaces the batch (train.match_update refuses such
  // a baseline: its update is not one of the step's rollouts).
  bool resamples = false;
};

using ModifierRegistry = Registry<ModifierEntry>;

#define ADVLAB_REGISTER_MODIFIER(ident, ...)                      \
  static const bool advlab_modifier_registered_##ident =          \
      ::advlab::ModifierRegistry::Get().Add(::advlab::ModifierEntry{__VA_ARGS__})

// "base+mod1+mod2": the base estimator and its modifiers, in order. Throws
// UserError naming the unknown part (with the closest name) or a repeated one;
// `what` names the input in the message (the key, or a command-line option).
struct EstimatorSpec {
  const EstimatorEntry* base = nullptr;
  std::vector<const ModifierEntry*> modifiers;
  bool needs_groups() const;
  bool needs_task() const;  // the base's or any modifier's
};
EstimatorSpec ParseEstimatorName(const std::string& name,
                                 const std::string& what = "key 'estimator.name'");

// Planning of a bare-input run (`advlab advantage`; tests): why the unbound
// estimator `spec` cannot run on `batch` with the hooks' inputs `extra`, or ""
// when it can. Checks everything the steps assume but never check with an error
// (they do not throw): a task for needs_task, one greedy reward per group and
// none NaN (needs_greedy), a value per token (needs_values, batch.value), at
// least 2 valid tokens to whiten (whitens_tokens), one reference reward per
// rollout (a needs_reference modifier), every non-empty group's size
// (group_refusal). One line, naming the estimator.
std::string BareBatchRefusal(const EstimatorSpec& spec, const Batch& batch,
                             const FixedSampler& extra);

// The estimator a name stands for: the base, or a composite applying the
// modifiers after it.
std::unique_ptr<Estimator> MakeEstimator(const std::string& name);

#define ADVLAB_REGISTER_ESTIMATOR(ident, ...)                       \
  static const bool advlab_estimator_registered_##ident =           \
      ::advlab::EstimatorRegistry::Get().Add(::advlab::EstimatorEntry{__VA_ARGS__})

}  // namespace advlab

#endif  // ADVLAB_SIM_ESTIMATOR_H_
