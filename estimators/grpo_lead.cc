#include "estimators/grpo_lead.h"

#include <memory>

#include "estimators/grpo_lead_step.h"

namespace advlab {

void GrpoLeadModifier::Apply(Batch* batch) {
  double* token_adv = batch->token_advantage.empty() ? nullptr : batch->token_advantage.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = batch->group_begin[g];
    GrpoLeadGroup(batch->reward.data() + first, batch->group_size(g),
                  batch->token_begin.data() + first, batch->advantage.data() + first, token_adv);
  }
}

ADVLAB_REGISTER_MODIFIER(
    grpo_lead, .name = "grpo_lead",
    .description = "GRPO-LEAD: A <- w A, w = 0.4 + 1.1 / (1 + e^{10 (x - 0.75)}), x the group's "
                   "accuracy for A > 0 and 1 - accuracy for A < 0",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoLeadModifier>(); });

}  // namespace advlab
