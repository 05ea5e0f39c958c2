// Which runs read a key (KeySpec::used_by) and CheckKeysRead, for the keys of
// the envs, policies, estimators and the drift schedule; and a conformance check
// over every registered key's used_by.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sim/config.h"
#include "sim/error.h"
#include "sim/estimator.h"

namespace advlab {
namespace {

using Keys = std::map<std::string, std::string>;

// CheckKeysRead's message for `given` over one run per entry of `runs`, or ""
// when it accepts.
// A valid value of `spec` other than its default (a key at its default is
// never refused: it changes nothing).
std::string OtherValue(const KeySpec& spec) {
  const std::string def = CanonicalValue(spec, spec.default_value);
  std::vector<std::string> candidates;
  switch (spec.type) {
    case KeyType::kBool: candidates = {def == "true" ? "false" : "true"}; break;
    case KeyType::kString: candidates = AllowedValues(spec); break;
    case KeyType::kInt:
    case KeyType::kFloat: {
      const double d = std::stod(def);
      for (double v : {d + 1, d / 2, d - 1, d + 0.5, (spec.min + spec.max) / 2}) {
        candidates.push_back(spec.type == KeyType::kInt ? std::to_string(static_cast<long long>(v))
                                                        : std::to_string(v));
      }
      break;
    }
  }
  for (const std::string& c : candidates) {
    try {
      const std::string v = CanonicalValue(spec, c);
      if (!SameValue(spec, v, def)) return v;
    } catch (const UserError&) {
    }
  }
  ADD_FAILURE() << "no other value for " << spec.name;
  return def;
}

std::string Refusal(const std::vector<std::string>& given, const std::vector<Keys>& runs) {
  std::vector<Config> configs;
  for (Keys k : runs) {
    for (const std::string& key : given) {
      if (!k.count(key)) k[key] = OtherValue(FindKey(key));
    }
    configs.push_back(Config::Resolve(k));
  }
  std::vector<const Config*> ptrs;
  for (const Config& c : configs) ptrs.push_back(&c);
  try {
    CheckKeysRead(given, ptrs);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(KeysReadTest, ChainKeyRefusedWhenNoRunIsChain) {
  const std::vector<Keys> runs = {{{"env.name", "choice"}},
                                   {{"env.name", "choice"}, {"seed", "1"}}};
  const std::string e = Refusal({"env.chain_min_depth"}, runs);
  EXPECT_NE(e.find("key 'env.chain_min_depth'"), std::string::npos) << e;
  EXPECT_NE(e.find("env.name = chain"), std::string::npos) << e;
  EXPECT_NE(e.find("(env.name = choice)"), std::string::npos) << e;
}

TEST(KeysReadTest, ChainKeyAcceptedWhenOneRunIsChain) {
  EXPECT_EQ(Refusal({"env.chain_min_depth"}, {{{"env.name", "choice"}}, {{"env.name", "chain"}}}),
            "");
}

TEST(KeysReadTest, AnswersReadByChoiceAndThinkNotChain) {
  EXPECT_EQ(Refusal({"env.answers"}, {{{"env.name", "choice"}}}), "");
  EXPECT_EQ(Refusal({"env.answers"}, {{{"env.name", "think"}}}), "");
  EXPECT_NE(Refusal({"env.answers"}, {{{"env.name", "chain"}}}), "");
  EXPECT_NE(Refusal({"env.max_length"}, {{{"env.name", "choice"}}, {{"env.name", "chain"}}}), "");
  EXPECT_NE(Refusal({"env.easy_logit"}, {{{"env.name", "think"}}}), "");
}

TEST(KeysReadTest, AdoraKeyNeedsAdoraInTheChain) {
  const std::string e = Refusal({"estimator.adora_tau"}, {{{"estimator.name", "grpo"}}});
  EXPECT_NE(e.find("key 'estimator.adora_tau'"), std::string::npos) << e;
  EXPECT_NE(e.find("estimator.name has adora"), std::string::npos) << e;
  EXPECT_EQ(Refusal({"estimator.adora_tau"}, {{{"estimator.name", "grpo+adora"}}}), "");
  EXPECT_EQ(Refusal({"estimator.adora_tau"}, {{{"estimator.name", "rloo+dash+adora"}}}), "");
  // A grid over estimators: one run with adora is enough.
  EXPECT_EQ(Refusal({"estimator.adora_tau"},
                    {{{"estimator.name", "grpo"}}, {{"estimator.name", "grpo+adora"}}}),
            "");
}

TEST(KeysReadTest, EstimatorKeysNeedTheirComponent) {
  EXPECT_NE(Refusal({"estimator.dash_threshold"}, {{{"estimator.name", "grpo+adora"}}}), "");
  EXPECT_EQ(Refusal({"estimator.dash_threshold"}, {{{"estimator.name", "grpo+dash"}}}), "");
  EXPECT_NE(Refusal({"estimator.dapo_max_resample"}, {{{"estimator.name", "grpo"}}}), "");
  EXPECT_EQ(Refusal({"estimator.dapo_max_resample"}, {{{"estimator.name", "grpo+dapo"}}}), "");
  EXPECT_NE(Refusal({"estimator.aapo_low"}, {{{"estimator.name", "rloo"}}}), "");
  EXPECT_EQ(Refusal({"estimator.aapo_low"}, {{{"estimator.name", "rloo+aapo"}}}), "");
  EXPECT_NE(Refusal({"estimator.ema_scope"}, {{{"estimator.name", "grpo"}}}), "");
  EXPECT_EQ(Refusal({"estimator.ema_scope"}, {{{"estimator.name", "ema_baseline"}}}), "");
  for (const char* key :
       {"estimator.gae_gamma", "estimator.gae_lambda", "estimator.critic", "estimator.critic_lr"}) {
    EXPECT_NE(Refusal({key}, {{{"estimator.name", "grpo"}}}), "") << key;
    EXPECT_EQ(Refusal({key}, {{{"estimator.name", "gae"}}}), "") << key;
  }
}

TEST(KeysReadTest, MlpKeysRefusedUnderTabular) {
  const std::string e = Refusal({"policy.hidden"}, {{{"policy.kind", "tabular"}}});
  EXPECT_NE(e.find("key 'policy.hidden'"), std::string::npos) << e;
  EXPECT_NE(e.find("policy.kind = mlp"), std::string::npos) << e;
  EXPECT_NE(e.find("(policy.kind = tabular)"), std::string::npos) << e;
  for (const char* key : {"policy.hidden", "policy.layers", "policy.activation",
                          "policy.init_scale", "policy.out_init_scale"}) {
    EXPECT_NE(Refusal({key}, {{{"policy.kind", "tabular"}}}), "") << key;
    EXPECT_EQ(Refusal({key}, {{{"policy.kind", "mlp"}}}), "") << key;
  }
}

TEST(KeysReadTest, HiddenAndActivationAlsoShapeGaesMlpCritic) {
  const Keys mlp_critic = {
      {"policy.kind", "tabular"}, {"estimator.name", "gae"}, {"estimator.critic", "mlp"}};
  EXPECT_EQ(Refusal({"policy.hidden", "policy.activation"}, {mlp_critic}), "");
  // The critic reads neither the layer count nor the init scales.
  EXPECT_NE(Refusal({"policy.layers"}, {mlp_critic}), "");
  EXPECT_NE(Refusal({"policy.init_scale"}, {mlp_critic}), "");
  // auto is tabular under a tabular policy; a tabular critic reads neither.
  for (const char* critic : {"auto", "tabular"}) {
    EXPECT_NE(Refusal({"policy.hidden"}, {{{"policy.kind", "tabular"},
                                           {"estimator.name", "gae"},
                                           {"estimator.critic", critic}}}),
              "")
        << critic;
  }
  // estimator.critic = mlp without gae: no critic at all.
  EXPECT_NE(Refusal({"policy.hidden"}, {{{"estimator.critic", "mlp"}}}), "");
}

TEST(KeysReadTest, AdamKeysRefusedUnderSgd) {
  for (const char* key : {"optim.beta1", "optim.beta2", "optim.eps"}) {
    const std::string e = Refusal({key}, {{{"optim.name", "sgd"}}});
    EXPECT_NE(e.find("optim.name = adam"), std::string::npos) << key << ": " << e;
    EXPECT_EQ(Refusal({key}, {{{"optim.name", "adam"}}}), "") << key;
  }
  EXPECT_EQ(Refusal({"optim.lr"}, {{{"optim.name", "sgd"}}}), "");
}

TEST(KeysReadTest, DriftKeysFollowTheSchedule) {
  EXPECT_NE(Refusal({"env.drift_width"}, {{}}), "");  // env.drift = none
  for (const char* drift : {"linear", "step", "cyclic", "random_walk"}) {
    EXPECT_EQ(Refusal({"env.drift_width"}, {{{"env.drift", drift}}}), "") << drift;
  }
  const std::map<std::string, std::string> only = {{"env.drift_stages", "step"},
                                                   {"env.drift_period", "cyclic"},
                                                   {"env.drift_walk_step", "random_walk"}};
  for (const auto& [key, drift] : only) {
    for (const char* other : {"none", "linear", "step", "cyclic", "random_walk"}) {
      const std::string e = Refusal({key}, {{{"env.drift", other}}});
      EXPECT_EQ(e.empty(), drift == other) << key << " under " << other << ": " << e;
    }
  }
}

TEST(KeysReadTest, KeysEveryRunReadsAreNeverRefused) {
  for (const char* key : {"env.answer_rate", "env.drift", "optim.lr"}) {
    EXPECT_EQ(Refusal({key}, {{{"env.name", "chain"}}}), "") << key;
    EXPECT_EQ(Refusal({key}, {{{"env.name", "think"}, {"policy.kind", "mlp"}}}), "") << key;
  }
}

// Values of the deciding key worth trying: its allowed values, for
// estimator.name also each modifier after grpo (the allowed values list only the
// bases); both values of a bool; the default and a few in-range numbers of a
// numeric key (a UsedUnless(key, "0") key is read only off the default); the
// default of a free-text key.
std::vector<std::string> DecidingValues(const KeySpec& decider) {
  if (decider.type == KeyType::kBool) return {"false", "true"};
  std::vector<std::string> values = AllowedValues(decider);
  if (decider.name == "estimator.name") {
    for (const std::string& m : ModifierRegistry::Get().Names()) values.push_back("grpo+" + m);
  }
  if (!values.empty()) return values;
  values.push_back(decider.default_value);
  if (decider.type == KeyType::kString) return values;
  for (const char* v : {"0", "1", "2", "8", "0.5", "0.01"}) {
    if (decider.type == KeyType::kInt && std::string(v).find('.') != std::string::npos) continue;
    try {
      const std::string canonical = CanonicalValue(decider, v);
      if (canonical != CanonicalValue(decider, decider.default_value)) values.push_back(canonical);
    } catch (const UserError&) {
      // out of the key's range
    }
  }
  return values;
}

TEST(KeysConformanceTest, EveryUsedByNamesARegisteredKeyAndEvaluates) {
  int with_used_by = 0;
  for (const KeySpec* spec : KeyRegistry::Get().All()) {
    if (!spec->used_by.test) {
      EXPECT_TRUE(spec->used_by.key.empty()) << spec->name << ": used_by.key without a test";
      continue;
    }
    ++with_used_by;
    SCOPED_TRACE(spec->name);
    ASSERT_FALSE(spec->used_by.key.empty()) << "used_by.test without the deciding key";
    EXPECT_FALSE(spec->used_by.when.empty());
    const KeySpec* decider = KeyRegistry::Get().Find(spec->used_by.key);
    ASSERT_NE(decider, nullptr) << "used_by.key '" << spec->used_by.key << "' is not a key";
    EXPECT_NE(decider->name, spec->name) << "a key cannot decide whether it is read";
    // Every value of the deciding key on the default config evaluates, and at
    // least one run reads the key (else it could never be given).
    bool read_somewhere = false;
    for (const std::string& v : DecidingValues(*decider)) {
      const Config c = Config::Resolve({{decider->name, v}});
      bool read = false;
      EXPECT_NO_THROW(read = spec->used_by.test(c)) << spec->used_by.key << " = " << v;
      read_somewhere = read_somewhere || read;
    }
    EXPECT_TRUE(read_somewhere) << "no value of " << spec->used_by.key << " reads the key";
  }
  EXPECT_GE(with_used_by, 40);  // the family, drift, mlp, adam and estimator keys
}

}  // namespace
}  // namespace advlab
