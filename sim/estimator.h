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

class Estimator {
 public:
  virtual ~Estimator() = default;
  // Called once before training (estimators that read the oracle keep it).
  virtual void Bind(const EstimatorContext& context) {}
  // A copy with the same state, for computations that must not advance it
  // (the exact-gradient diagnostics' extra batches). Estimators that keep no
  // state across calls return nullptr: they can be used as they are.
  virtual std::unique_ptr<Estimator> Clone() const { return nullptr; }
  // Writes batch->advantage[r] for every rollout r (resizing it to the number of
  // rollouts) from the rewards, groups and lengths of the batch.
  virtual void Compute(Batch* batch) = 0;
};

struct EstimatorEntry {
  std::string name;
  std::string description;  // one line, shown by `advlab list estimators`
  // True when the estimator compares rollouts within a group (grpo, rloo, ...):
  // a training config with train.group_size = 1 is then rejected as a mistake.
  bool needs_groups = false;
  std::function<std::unique_ptr<Estimator>()> make;
  // True when Compute needs a bound task and policy (exact-oracle baselines):
  // such estimators cannot run on bare rewards (`advlab advantage`).
  bool needs_task = false;
  // True for ReMax: the loop also decodes one greedy response per prompt and
  // stores its reward in batch->greedy_reward (it counts in the sampling cost);
  // `advlab advantage` reads them from --greedy.
  bool needs_greedy = false;
  // True for gae: on bare rewards (`advlab advantage`) it needs the critic's
  // values, from --values (batch->value); in training its own critic gives them.
  bool needs_values = false;
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
  virtual void Apply(Batch* batch) = 0;
  // A copy with the same state (see Estimator::Clone); nullptr when stateless.
  virtual std::unique_ptr<Modifier> Clone() const { return nullptr; }
};

struct ModifierEntry {
  std::string name;
  std::string description;  // one line
  bool needs_groups = false;  // reads group statistics (refuses train.group_size = 1)
  std::function<std::unique_ptr<Modifier>()> make;
  // Refuses (UserError) a config whose task lacks what the modifier reads, e.g.
  // ADORA's length criterion on one-token responses. May be empty.
  std::function<void(const Config& config, const Task& task)> check = nullptr;
  // True for DAPO: the modifier acts at sampling time (the loop resamples
  // uninformative groups); its Apply sees the final batch. Last, so that the
  // positional registrations above never bind to it by accident.
  bool dynamic_sampling = false;
  // True for AAPO: the loop also samples group_size rollouts per prompt from
  // the frozen initial policy and stores their observed rewards in
  // batch->ref_reward (they count in the sampling cost).
  bool needs_reference = false;
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
  bool needs_task() const { return base->needs_task; }
};
EstimatorSpec ParseEstimatorName(const std::string& name,
                                 const std::string& what = "key 'estimator.name'");

// The estimator a name stands for: the base, or a composite applying the
// modifiers after it.
std::unique_ptr<Estimator> MakeEstimator(const std::string& name);

#define ADVLAB_REGISTER_ESTIMATOR(ident, ...)                       \
  static const bool advlab_estimator_registered_##ident =           \
      ::advlab::EstimatorRegistry::Get().Add(::advlab::EstimatorEntry{__VA_ARGS__})

}  // namespace advlab

#endif  // ADVLAB_SIM_ESTIMATOR_H_
