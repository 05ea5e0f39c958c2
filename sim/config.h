// Configuration keys and resolved configs.
//
// Every key a run understands is declared once, with its type, default, allowed
// range or choices and a one-line help, by the component that reads it (static
// registration, ADVLAB_REGISTER_KEY). A Config is the fully resolved, validated
// map key -> value text; it is immutable and is what results files store (as INI).
// Bad values raise UserError with one line naming the key and what is allowed.
#ifndef ADVLAB_SIM_CONFIG_H_
#define ADVLAB_SIM_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/check.h"
#include "sim/registry.h"

namespace advlab {

enum class KeyType { kInt, kFloat, kBool, kString };

class Config;

// Which runs read a key. A key the user gives (file, command line or grid) that
// no run of the command reads is refused at planning (CheckKeysRead), so a
// `chain`-only key on a `choice` run, or a ppo key under train.loss = pg, is an
// error instead of a silent no-op.
struct KeyUse {
  std::string key = "";   // the key that decides ("env.name"); "" = every run reads it
  std::string when = "";  // for the message: "env.name = chain"
  std::function<bool(const Config&)> test = nullptr;  // null: every run reads it
};
// Read when `key` has one of `values` ("env.name = chain" / "policy.kind = mlp").
KeyUse UsedWhen(const std::string& key, const std::vector<std::string>& values);
// Read when the estimator.name chain has the component `name` (grpo+adora: adora).
KeyUse UsedWithEstimator(const std::string& name);
// Read when the chain has any of `names` ("grpo, dr_grpo").
KeyUse UsedWithEstimators(const std::vector<std::string>& names);
// Read when `key` is not `value`, compared as values (floats as numbers):
// UsedUnless("env.drift", "none"), UsedUnless("kl.coef", "0").
KeyUse UsedUnless(const std::string& key, const std::string& value);

struct KeySpec {
  std::string name = "";      // dotted, lower_snake_case: "train.group_size"
  KeyType type = KeyType::kString;
  std::string default_value = "";  // as text; every key has a default
  std::string help = "";      // one line
  // Numeric range (kInt, kFloat): value must lie in [min, max]; with
  // min_exclusive the lower bound itself is refused (e.g. optim.lr > 0).
  double min = -1e300;
  double max = 1e300;
  bool min_exclusive = false;
  // Allowed values for kString keys; either fixed, or computed on use (names of
  // registered components, so keys can name envs/estimators registered later).
  std::vector<std::string> choices = {};
  std::function<std::vector<std::string>()> dynamic_choices = nullptr;
  bool max_exclusive = false;  // refuse the upper bound itself (e.g. rates in [0, 1))
  // Throws UserError for a value the type and range cannot refuse: a string
  // key's grammar beyond a list (estimator.name = base+modifier; replaces the
  // choices check), or a float's excluded interval (train.clip_c: 0 or > 1).
  std::function<void(const std::string& value)> validate = nullptr;
  KeyUse used_by = {};  // which runs read the key (default: all)
};

// An enum-valued key's table: the one place that lists its names and what each
// parses to. Register the key with `.choices = EnumNames(kTable)` and read it
// with `EnumValue(kTable, config.Str(key))`.
template <class E>
struct EnumName {
  const char* name;
  E value;
};
template <class E, size_t N>
std::vector<std::string> EnumNames(const EnumName<E> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& e : table) names.push_back(e.name);
  return names;
}
// The value of `name`; a name outside the table is a bug (Resolve validated it).
template <class E, size_t N>
E EnumValue(const EnumName<E> (&table)[N], const std::string& name) {
  for (const auto& e : table)
    if (name == e.name) return e.value;
  ADVLAB_CHECK(false && "value not in the enum table");
  return table[0].value;
}

using KeyRegistry = Registry<KeySpec>;

#define ADVLAB_REGISTER_KEY(ident, ...) \
  static const bool advlab_key_registered_##ident = ::advlab::KeyRegistry::Get().Add(__VA_ARGS__)

// Allowed values of a string key ({} when any text is allowed).
std::vector<std::string> AllowedValues(const KeySpec& spec);

// Validates `text` as a value of `spec` and returns it in canonical form
// (integers without sign or leading zeros noise, floats as given, bools as
// true/false). Throws UserError naming the key and the allowed values.
std::string CanonicalValue(const KeySpec& spec, const std::string& text);

// True when two canonical values of `spec` are the same value (floats keep the
// user's spelling, so 8 and 8.0 are compared as numbers).
bool SameValue(const KeySpec& spec, const std::string& a, const std::string& b);

// Looks a key up, throwing UserError "unknown key 'x' (did you mean 'y'?)".
const KeySpec& FindKey(const std::string& name);

class Config {
 public:
  Config() = default;
  // Resolves `overrides` (key -> text) against the registered keys: unknown keys
  // and bad values throw UserError; every other key takes its default.
  static Config Resolve(const std::map<std::string, std::string>& overrides);

  int64_t Int(const std::string& key) const;
  double Float(const std::string& key) const;
  bool Bool(const std::string& key) const;
  const std::string& Str(const std::string& key) const;
  const std::map<std::string, std::string>& values() const { return values_; }

  // A copy with one key changed (validated).
  Config With(const std::string& key, const std::string& value) const;

  // INI text, one "[section]" per first dotted component, keys sorted.
  std::string ToIni() const;

 private:
  std::map<std::string, std::string> values_;
};

// Refuses a key the user gave that no run reads: `given` names the keys of the
// file, the command line and the grid; `runs` is every run's resolved config.
// A key at its default value in every run passes (a resolved config, which
// holds every key, can be run again).
// Throws UserError "key 'env.chain_min_depth' is read only when env.name =
// chain; no run has it (env.name = choice)".
void CheckKeysRead(const std::vector<std::string>& given, const std::vector<const Config*>& runs);

// CheckKeysRead one run at a time, so a plan of many runs need not hold their
// configs at once: Add each run's config, then Check.
class KeysReadCheck {
 public:
  explicit KeysReadCheck(const std::vector<std::string>& given);
  void Add(const Config& run);
  void Check() const;  // throws CheckKeysRead's UserError

 private:
  struct Key {
    const KeySpec* spec;
    std::string def;                  // canonical default
    bool at_default = true;           // in every run so far
    bool read = false;                // by some run so far
    std::vector<std::string> seen;    // the deciding key's first few values
  };
  std::vector<Key> keys_;
  size_t runs_ = 0;
};

}  // namespace advlab

#endif  // ADVLAB_SIM_CONFIG_H_
