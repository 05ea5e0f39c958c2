#include "sim/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "sim/check.h"
#include "sim/error.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

std::string RangeText(const KeySpec& s) {
  std::ostringstream os;
  os.precision(12);
  bool has_min = s.min > -1e299, has_max = s.max < 1e299;
  if (has_min && has_max) {
    os << (s.min_exclusive ? "(" : "[") << s.min << ", " << s.max << (s.max_exclusive ? ")" : "]");
  } else if (has_min) {
    os << (s.min_exclusive ? "> " : ">= ") << s.min;
  } else if (has_max) {
    os << (s.max_exclusive ? "< " : "<= ") << s.max;
  } else {
    os << "any value";
  }
  return os.str();
}

[[noreturn]] void BadValue(const KeySpec& s, const std::string& text, const std::string& allowed) {
  throw UserError("key '" + s.name + "': invalid value '" + text + "'; allowed: " + allowed);
}

}  // namespace

std::vector<std::string> AllowedValues(const KeySpec& spec) {
  return spec.dynamic_choices ? spec.dynamic_choices() : spec.choices;
}

std::string CanonicalValue(const KeySpec& s, const std::string& text) {
  switch (s.type) {
    case KeyType::kInt: {
      const std::string allowed = "an integer " + RangeText(s);
      if (text.empty()) BadValue(s, text, allowed);
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (*end != '\0' || errno == ERANGE) BadValue(s, text, allowed);
      double d = static_cast<double>(v);
      if (d < s.min || d > s.max || (s.min_exclusive && d == s.min) || (s.max_exclusive && d == s.max))
        BadValue(s, text, allowed);
      return std::to_string(v);
    }
    case KeyType::kFloat: {
      const std::string allowed = "a finite number " + RangeText(s);
      if (text.empty()) BadValue(s, text, allowed);
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (*end != '\0' || !std::isfinite(v)) BadValue(s, text, allowed);
      if (v < s.min || v > s.max || (s.min_exclusive && v == s.min) || (s.max_exclusive && v == s.max))
        BadValue(s, text, allowed);
      if (s.validate) s.validate(text);  // constraints a range cannot say
      // Keep the user's spelling: it parses back to the same double everywhere.
      return text;
    }
    case KeyType::kBool: {
      if (text == "true" || text == "1" || text == "yes" || text == "on") return "true";
      if (text == "false" || text == "0" || text == "no" || text == "off") return "false";
      BadValue(s, text, "true or false");
    }
    case KeyType::kString: {
      if (s.validate) {
        s.validate(text);
        return text;
      }
      std::vector<std::string> allowed = AllowedValues(s);
      if (allowed.empty()) return text;
      for (const auto& a : allowed)
        if (a == text) return text;
      throw UserError("key '" + s.name + "': unknown value '" + text + "'" +
                      DidYouMean(text, allowed) + "; allowed: " + JoinNames(allowed));
    }
  }
  ADVLAB_CHECK(false);
}

const KeySpec& FindKey(const std::string& name) {
  const KeySpec* spec = KeyRegistry::Get().Find(name);
  if (spec == nullptr) {
    throw UserError("unknown key '" + name + "'" + DidYouMean(name, KeyRegistry::Get().Names()) +
                    "; `advlab list keys` shows every key");
  }
  return *spec;
}

Config Config::Resolve(const std::map<std::string, std::string>& overrides) {
  Config c;
  for (const auto& kv : overrides) {
    const KeySpec& spec = FindKey(kv.first);
    c.values_[kv.first] = CanonicalValue(spec, kv.second);
  }
  for (const KeySpec* spec : KeyRegistry::Get().All()) {
    if (c.values_.count(spec->name) == 0) {
      c.values_[spec->name] = CanonicalValue(*spec, spec->default_value);
    }
  }
  return c;
}

Config Config::With(const std::string& key, const std::string& value) const {
  Config c = *this;
  c.values_[key] = CanonicalValue(FindKey(key), value);
  return c;
}

const std::string& Config::Str(const std::string& key) const {
  auto it = values_.find(key);
  ADVLAB_CHECK(it != values_.end() && "key not registered");
  return it->second;
}

int64_t Config::Int(const std::string& key) const {
  ADVLAB_CHECK(FindKey(key).type == KeyType::kInt);
  return std::strtoll(Str(key).c_str(), nullptr, 10);
}

double Config::Float(const std::string& key) const {
  ADVLAB_CHECK(FindKey(key).type == KeyType::kFloat);
  return std::strtod(Str(key).c_str(), nullptr);
}

bool Config::Bool(const std::string& key) const {
  ADVLAB_CHECK(FindKey(key).type == KeyType::kBool);
  return Str(key) == "true";
}

KeyUse UsedWhen(const std::string& key, const std::vector<std::string>& values) {
  KeyUse u;
  u.key = key;
  u.when = key + " = " + JoinNames(values);
  u.test = [key, values](const Config& c) {
    return std::find(values.begin(), values.end(), c.Str(key)) != values.end();
  };
  return u;
}

KeyUse UsedWithEstimator(const std::string& name) {
  return UsedWithEstimators(std::vector<std::string>{name});
}

KeyUse UsedWithEstimators(const std::vector<std::string>& names) {
  KeyUse u;
  u.key = "estimator.name";
  u.when = "estimator.name has " + JoinNames(names) + " (or train.match_update's baseline does)";
  u.test = [names](const Config& c) {
    const auto listed = [&names](const std::string& n) {
      return std::find(names.begin(), names.end(), n) != names.end();
    };
    // The baseline of train.match_update reads the same keys.
    for (const char* key : {"estimator.name", "train.match_update"}) {
      const std::string& v = c.Str(key);
      if (v.empty()) continue;
      const EstimatorSpec spec = ParseEstimatorName(v);
      if (listed(spec.base->name)) return true;
      for (const ModifierEntry* m : spec.modifiers)
        if (listed(m->name)) return true;
    }
    return false;
  };
  return u;
}

KeyUse UsedUnless(const std::string& key, const std::string& value) {
  KeyUse u;
  u.key = key;
  u.when = key + " != " + value;
  u.test = [key, value](const Config& c) { return !SameValue(FindKey(key), c.Str(key), value); };
  return u;
}

bool SameValue(const KeySpec& spec, const std::string& a, const std::string& b) {
  if (spec.type == KeyType::kFloat) {
    return std::strtod(a.c_str(), nullptr) == std::strtod(b.c_str(), nullptr);
  }
  return a == b;
}

void CheckKeysRead(const std::vector<std::string>& given, const std::vector<const Config*>& runs) {
  KeysReadCheck check(given);
  for (const Config* c : runs) check.Add(*c);
  check.Check();
}

KeysReadCheck::KeysReadCheck(const std::vector<std::string>& given) {
  for (const std::string& name : given) {
    const KeySpec& spec = FindKey(name);
    if (!spec.used_by.test) continue;
    keys_.push_back(Key{&spec, CanonicalValue(spec, spec.default_value)});
  }
}

void KeysReadCheck::Add(const Config& run) {
  ++runs_;
  for (Key& k : keys_) {
    // A key at its default changes nothing, so a resolved config (every key, as
    // a results file stores it) can be run again as it is.
    k.at_default = k.at_default && SameValue(*k.spec, run.Str(k.spec->name), k.def);
    k.read = k.read || k.spec->used_by.test(run);
    // The deciding key's values among the runs (first few), for the message.
    const std::string& v = run.Str(k.spec->used_by.key);
    if (k.seen.size() < 4 && std::find(k.seen.begin(), k.seen.end(), v) == k.seen.end()) {
      k.seen.push_back(v);
    }
  }
}

void KeysReadCheck::Check() const {
  if (runs_ == 0) return;
  for (const Key& k : keys_) {
    if (k.at_default || k.read) continue;
    const KeySpec& spec = *k.spec;
    throw UserError("key '" + spec.name + "' is read only when " + spec.used_by.when +
                    "; no run of this command has that (" + spec.used_by.key + " = " +
                    JoinNames(k.seen) + "): remove the key or change " + spec.used_by.key);
  }
}

std::string Config::ToIni() const {
  std::ostringstream os;
  // Top-level keys first: in INI they must precede every [section].
  for (const auto& kv : values_)
    if (kv.first.find('.') == std::string::npos) os << kv.first << " = " << kv.second << "\n";
  std::string section;
  for (const auto& kv : values_) {  // std::map: sorted, so sections are contiguous
    size_t dot = kv.first.find('.');
    if (dot == std::string::npos) continue;
    std::string sec = kv.first.substr(0, dot);
    if (sec != section) {
      os << "\n[" << sec << "]\n";
      section = sec;
    }
    os << kv.first.substr(dot + 1) << " = " << kv.second << "\n";
  }
  return os.str();
}

}  // namespace advlab
