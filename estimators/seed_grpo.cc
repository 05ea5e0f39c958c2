#include "estimators/seed_grpo.h"

#include <memory>

#include "estimators/seed_grpo_step.h"
#include "sim/check.h"
#include "sim/config.h"
#include "sim/dmath.h"
#include "sim/error.h"
#include "sim/task.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_seed_grpo_alpha,
                    KeySpec{.name = "estimator.seed_grpo_alpha",
                            .type = KeyType::kFloat,
                            .default_value = "0.02",
                            .help = "seed_grpo: A <- A (1 - alpha SE / SE_max), SE the exact "
                                    "answer entropy; alpha in [0, 1]",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWithEstimator("seed_grpo")});

void SeedGrpoModifier::Bind(const EstimatorContext& context) {
  context_ = context;
  if (context.config != nullptr) alpha_ = context.config->Float("estimator.seed_grpo_alpha");
}

void SeedGrpoModifier::Apply(Batch* batch) {
  // Planning guarantees the task: training binds it; `advlab advantage`
  // refuses needs_task modifiers; the check refuses families without answers.
  ADVLAB_CHECK(context_.task != nullptr && context_.policy != nullptr);
  const double se_max = dm::Log(static_cast<double>(context_.task->num_actions()));
  double* token_adv = batch->token_advantage.empty() ? nullptr : batch->token_advantage.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = batch->group_begin[g];
    const double se = context_.task->AnswerEntropy(context_.policy, batch->prompt[g]);
    ADVLAB_CHECK(se == se);
    SeedGrpoScaleGroup(SeedGrpoFactor(alpha_, se, se_max), batch->group_size(g),
                       batch->token_begin.data() + first, batch->advantage.data() + first,
                       token_adv);
  }
}

ADVLAB_REGISTER_MODIFIER(
    seed_grpo, .name = "seed_grpo",
    .description = "SEED-GRPO: A <- A (1 - alpha SE / SE_max), SE the exact entropy of the "
                   "prompt's answer under the current policy (needs the task)",
    .make = [] { return std::make_unique<SeedGrpoModifier>(); },
    .check = [](const Config& c, const Task& task) {
      if (task.num_actions() < 2 || c.Str("env.name") == "chain") {
        throw UserError("estimator.name = " + c.Str("estimator.name") +
                        ": seed_grpo reads the exact entropy of the prompt's final answer, which "
                        "env.name = " + c.Str("env.name") +
                        " does not define (its response is a whole token sequence); allowed: "
                        "env.name = choice or think");
      }
    },
    .needs_task = true);

}  // namespace advlab
