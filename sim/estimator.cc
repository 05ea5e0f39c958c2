#include "sim/estimator.h"

#include <string>
#include <utility>

#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace {

// The base estimator, then each modifier in order. Parts are shared: a clone
// copies the stateful parts and shares the stateless ones (their Clone returns
// nullptr), which is safe because a stateless part holds nothing Compute changes.
class CompositeEstimator : public Estimator {
 public:
  CompositeEstimator(std::shared_ptr<Estimator> base, std::vector<std::shared_ptr<Modifier>> mods)
      : base_(std::move(base)), modifiers_(std::move(mods)) {}

  void Bind(const EstimatorContext& context) override {
    base_->Bind(context);
    for (auto& m : modifiers_) m->Bind(context);
  }
  void Resample(Sampler* sampler, Batch* batch) override {
    base_->Resample(sampler, batch);
    for (auto& m : modifiers_) m->Resample(sampler, batch);
  }
  void SampleExtra(Sampler* sampler, const Batch& batch) override {
    base_->SampleExtra(sampler, batch);
    for (auto& m : modifiers_) m->SampleExtra(sampler, batch);
  }
  void AddStats(StepStats* stats) const override {
    base_->AddStats(stats);
    for (const auto& m : modifiers_) m->AddStats(stats);
  }
  void Compute(Batch* batch) override {
    base_->Compute(batch);
    for (auto& m : modifiers_) m->Apply(batch);
  }
  std::unique_ptr<Estimator> Clone() const override {
    std::shared_ptr<Estimator> base = base_->Clone();
    bool stateful = base != nullptr;
    if (base == nullptr) base = base_;
    std::vector<std::shared_ptr<Modifier>> mods;
    for (const auto& m : modifiers_) {
      std::shared_ptr<Modifier> copy = m->Clone();
      stateful = stateful || copy != nullptr;
      mods.push_back(copy != nullptr ? std::move(copy) : m);
    }
    if (!stateful) return nullptr;
    return std::make_unique<CompositeEstimator>(std::move(base), std::move(mods));
  }

 private:
  std::shared_ptr<Estimator> base_;
  std::vector<std::shared_ptr<Modifier>> modifiers_;
};

}  // namespace

bool EstimatorSpec::needs_groups() const {
  bool g = base->needs_groups;
  for (const ModifierEntry* m : modifiers) g = g || m->needs_groups;
  return g;
}

bool EstimatorSpec::needs_task() const {
  bool t = base->needs_task;
  for (const ModifierEntry* m : modifiers) t = t || m->needs_task;
  return t;
}

EstimatorSpec ParseEstimatorName(const std::string& name, const std::string& what) {
  EstimatorSpec spec;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t plus = name.find('+', start);
    parts.push_back(name.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  const std::vector<std::string> bases = EstimatorRegistry::Get().Names();
  spec.base = EstimatorRegistry::Get().Find(parts[0]);
  if (spec.base == nullptr) {
    throw UserError(what + ": unknown estimator '" + parts[0] + "'" +
                    DidYouMean(parts[0], bases) + "; allowed: " + JoinNames(bases) +
                    ", each optionally followed by +modifier (" +
                    JoinNames(ModifierRegistry::Get().Names()) + ")");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const ModifierEntry* m = ModifierRegistry::Get().Find(parts[i]);
    if (m == nullptr) {
      const std::vector<std::string> mods = ModifierRegistry::Get().Names();
      throw UserError(what + ": unknown modifier '" + parts[i] + "' in '" + name +
                      "'" + DidYouMean(parts[i], mods) + "; allowed modifiers: " + JoinNames(mods));
    }
    for (const ModifierEntry* prev : spec.modifiers) {
      if (prev == m) throw UserError(what + ": modifier '" + parts[i] + "' given twice in '" + name + "'");
    }
    spec.modifiers.push_back(m);
  }
  return spec;
}

std::string BareBatchRefusal(const EstimatorSpec& spec, const Batch& batch,
                             const FixedSampler& extra) {
  const EstimatorEntry& base = *spec.base;
  if (base.needs_task) {
    return "estimator '" + base.name + "' needs the task's exact oracle; it runs only in "
           "training (advlab run / sweep), not on bare rewards";
  }
  const int groups = batch.num_groups();
  if (base.needs_greedy) {
    if (extra.greedy.size() != static_cast<size_t>(groups)) {
      return "estimator '" + base.name + "' needs the greedy responses' rewards, one per group "
             "(got " + std::to_string(extra.greedy.size()) + " for " + std::to_string(groups) +
             " groups); in training the loop supplies them, in `advlab advantage` use "
             "--greedy FILE";
    }
    for (int g = 0; g < groups; ++g) {
      if (extra.greedy[g] != extra.greedy[g]) {
        return "estimator '" + base.name + "': the greedy reward of group " +
               std::to_string(g + 1) + " is NaN (a task family without greedy decoding?)";
      }
    }
  }
  if (base.group_refusal) {
    for (int g = 0; g < groups; ++g) {
      const int n = batch.group_size(g);
      if (n == 0) continue;
      const std::string why = base.group_refusal(nullptr, n);
      if (!why.empty()) return why + " (group " + std::to_string(g + 1) + ")";
    }
  }
  const int tokens = batch.num_tokens();
  if (base.needs_values && batch.value.size() != static_cast<size_t>(tokens)) {
    return "estimator '" + base.name + "' on bare rewards (no task, so no critic) needs the "
           "critic's value of every token: " + std::to_string(batch.value.size()) +
           " given for " + std::to_string(tokens) + " tokens; give `advlab advantage --values "
           "FILE`";
  }
  if (base.whitens_tokens && batch.num_rollouts() > 0) {
    const int valid = batch.token_begin.back() - batch.token_begin.front();
    if (valid < 2) {
      return base.name + (valid == 1 ? ": the batch has a single valid token"
                                     : ": the batch has no valid token") +
             "; whitening needs at least 2";
    }
  }
  for (const ModifierEntry* m : spec.modifiers) {
    if (m->needs_task) {
      return "modifier '" + m->name + "' needs the task and the current policy (an exact "
             "quantity of the prompt); it runs only in training (advlab run / sweep), not on "
             "bare rewards";
    }
    const int n = batch.num_rollouts();
    if (m->needs_reference && extra.reference.size() != static_cast<size_t>(n)) {
      return m->name + " needs the reference policy's rewards (training supplies them; `advlab "
             "advantage` needs --reference FILE): got " + std::to_string(extra.reference.size()) +
             " reference rewards for " + std::to_string(n) + " rollouts; allowed: one per rollout";
    }
  }
  return "";
}

std::unique_ptr<Estimator> MakeEstimator(const std::string& name) {
  const EstimatorSpec spec = ParseEstimatorName(name);
  std::unique_ptr<Estimator> base = spec.base->make();
  if (spec.modifiers.empty()) return base;
  std::vector<std::shared_ptr<Modifier>> mods;
  for (const ModifierEntry* m : spec.modifiers) mods.push_back(m->make());
  return std::make_unique<CompositeEstimator>(std::move(base), std::move(mods));
}

}  // namespace advlab
