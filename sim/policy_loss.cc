#include "sim/policy_loss.h"

namespace advlab {

KeyUse UsedWithOffPolicyLoss() {
  KeyUse u;
  u.key = "train.loss";
  u.when = "train.loss is an off-policy loss (ppo)";
  u.test = [](const Config& c) {
    const PolicyLossEntry* e = PolicyLossRegistry::Get().Find(c.Str("train.loss"));
    return e != nullptr && e->off_policy;
  };
  return u;
}

}  // namespace advlab
