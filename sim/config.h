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

#include "sim/registry.h"

namespace advlab {

enum class KeyType { kInt, kFloat, kBool, kString };

struct KeySpec {
  std::string name;           // dotted, lower_snake_case: "train.group_size"
  KeyType type = KeyType::kString;
  std::string default_value;  // as text; every key has a default
  std::string help;           // one line
  // Numeric range (kInt, kFloat): value must lie in [min, max]; with
  // min_exclusive the lower bound itself is refused (e.g. optim.lr > 0).
  double min = -1e300;
  double max = 1e300;
  bool min_exclusive = false;
  // Allowed values for kString keys; either fixed, or computed on use (names of
  // registered components, so keys can name envs/estimators registered later).
  std::vector<std::string> choices;
  std::function<std::vector<std::string>()> dynamic_choices;
  bool max_exclusive = false;  // refuse the upper bound itself (e.g. rates in [0, 1))
  // Throws UserError for a value the type and range cannot refuse: a string
  // key's grammar beyond a list (estimator.name = base+modifier; replaces the
  // choices check), or a float's excluded interval (train.clip_c: 0 or > 1).
  std::function<void(const std::string& value)> validate = nullptr;
};

using KeyRegistry = Registry<KeySpec>;

#define ADVLAB_REGISTER_KEY(ident, ...) \
  static const bool advlab_key_registered_##ident = ::advlab::KeyRegistry::Get().Add(__VA_ARGS__)

// Allowed values of a string key ({} when any text is allowed).
std::vector<std::string> AllowedValues(const KeySpec& spec);

// Validates `text` as a value of `spec` and returns it in canonical form
// (integers without sign or leading zeros noise, floats as given, bools as
// true/false). Throws UserError naming the key and the allowed values.
std::string CanonicalValue(const KeySpec& spec, const std::string& text);

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

}  // namespace advlab

#endif  // ADVLAB_SIM_CONFIG_H_
