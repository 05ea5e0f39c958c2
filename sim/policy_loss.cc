#include "sim/policy_loss.h"

namespace advlab {

KeyUse UsedWithOffPolicyLoss() {
  KeyUse u;
  u.key = "train.loss";
  u.when =
      "train.loss is an off-policy (ratio) loss: ppo, gspo, gmpo, cispo, sapo, clip_cov, kl_cov";
  u.test = [](const Config& c) {
    const PolicyLossEntry* e = PolicyLossRegistry::Get().Find(c.Str("train.loss"));
    return e != nullptr && e->off_policy;
  };
  return u;
}

}  // namespace advlab
