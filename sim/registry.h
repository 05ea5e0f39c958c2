// A registry of named factories with static registration (cf. OpenSpiel
// REGISTER_SPIEL_GAME). Components register from their own .cc files; the folders
// are built as CMake OBJECT libraries so the registrations are never dropped by
// the linker.
#ifndef ADVLAB_SIM_REGISTRY_H_
#define ADVLAB_SIM_REGISTRY_H_

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "sim/check.h"

namespace advlab {

// Edit distance with adjacent swaps (optimal string alignment), for "did you
// mean" suggestions.
int EditDistance(const std::string& a, const std::string& b);
// The closest of `candidates` to `name`, or "" when none is reasonably close.
std::string ClosestName(const std::string& name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" with the closest candidate, or "" when none is close:
// the suffix of every "unknown name" message.
std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates);
// "a, b, c": the allowed values in a message.
std::string JoinNames(const std::vector<std::string>& names);

template <class Entry>
class Registry {
 public:
  static Registry& Get() {
    static Registry* instance = new Registry();  // never destroyed: safe at exit
    return *instance;
  }
  bool Add(const Entry& entry) {
    ADVLAB_CHECK(entries_.find(entry.name) == entries_.end());
    entries_[entry.name] = entry;
    return true;
  }
  const Entry* Find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& kv : entries_) names.push_back(kv.first);
    return names;
  }
  std::vector<const Entry*> All() const {
    std::vector<const Entry*> all;
    for (const auto& kv : entries_) all.push_back(&kv.second);
    return all;
  }

 private:
  std::map<std::string, Entry> entries_;  // sorted: listings are stable
};

}  // namespace advlab

#endif  // ADVLAB_SIM_REGISTRY_H_
