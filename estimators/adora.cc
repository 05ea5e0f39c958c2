#include "estimators/adora.h"

#include <limits>
#include <memory>
#include <utility>

#include "sim/config.h"
#include "sim/check.h"
#include "sim/error.h"
#include "sim/task.h"

namespace advlab {

static constexpr EnumName<AdoraOptions::Criterion> kAdoraCriterionNames[] = {
    {"length", AdoraOptions::Criterion::kLength},
    {"difficulty", AdoraOptions::Criterion::kDifficulty},
    {"both", AdoraOptions::Criterion::kBoth},
};
static constexpr EnumName<AdoraOptions::Mode> kAdoraModeNames[] = {
    {"attenuate", AdoraOptions::Mode::kAttenuate},
    {"amplify", AdoraOptions::Mode::kAmplify},
};
static constexpr EnumName<AdoraOptions::Variant> kAdoraVariantNames[] = {
    {"paper", AdoraOptions::Variant::kPaper},
    {"code", AdoraOptions::Variant::kCode},
};
static constexpr EnumName<AdoraOptions::Labels> kAdoraLabelsNames[] = {
    {"dynamic", AdoraOptions::Labels::kDynamic},
    {"static", AdoraOptions::Labels::kStatic},
};

// Bind reads every key below whenever adora is in the estimator chain.
ADVLAB_REGISTER_KEY(estimator_adora_criterion,
                    KeySpec{.name = "estimator.adora_criterion",
                            .type = KeyType::kString,
                            .default_value = "difficulty",
                            .help = "adora: TAS criterion: length, difficulty or both",
                            .choices = EnumNames(kAdoraCriterionNames),
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_mode,
                    KeySpec{.name = "estimator.adora_mode",
                            .type = KeyType::kString,
                            .default_value = "amplify",
                            .help = "adora: attenuate TDS prompts or amplify TAS prompts",
                            .choices = EnumNames(kAdoraModeNames),
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_variant,
                    KeySpec{.name = "estimator.adora_variant",
                            .type = KeyType::kString,
                            .default_value = "paper",
                            .help = "adora: paper, or code (the released code's empty-set "
                                    "handling)",
                            .choices = EnumNames(kAdoraVariantNames),
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_labels,
                    KeySpec{.name = "estimator.adora_labels",
                            .type = KeyType::kString,
                            .default_value = "dynamic",
                            .help = "adora: labels judged from each step's rollouts (dynamic), or "
                                    "fixed at initialisation from pi_0's exact success rate "
                                    "(static; difficulty criterion only)",
                            .choices = EnumNames(kAdoraLabelsNames),
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_tau,
                    KeySpec{.name = "estimator.adora_tau",
                            .type = KeyType::kFloat,
                            .default_value = "0.5",
                            .help = "adora: difficulty criterion, TAS iff success rate <= tau",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_lambda,
                    KeySpec{.name = "estimator.adora_lambda",
                            .type = KeyType::kFloat,
                            .default_value = "0.1",
                            .help = "adora: weight of TDS prompts in attenuate mode",
                            .min = 0.0,
                            .max = 1.0,
                            .used_by = UsedWithEstimator("adora")});
ADVLAB_REGISTER_KEY(estimator_adora_weight,
                    KeySpec{.name = "estimator.adora_weight",
                            .type = KeyType::kFloat,
                            .default_value = "2",
                            .help = "adora: weight of TAS prompts in amplify mode",
                            .min = 0.0,
                            .max = 1e6,
                            .min_exclusive = true,
                            .used_by = UsedWithEstimator("adora")});

AdoraModifier::AdoraModifier(const AdoraOptions& options, int32_t num_prompts,
                             std::vector<uint8_t> static_tas)
    : options_(options), last_label_(num_prompts, -1), static_tas_(std::move(static_tas)) {
  ADVLAB_CHECK(options_.labels == AdoraOptions::Labels::kDynamic ||
               static_cast<int64_t>(static_tas_.size()) == num_prompts);
}

void AdoraModifier::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  const Config& c = *context.config;
  options_.criterion = EnumValue(kAdoraCriterionNames, c.Str("estimator.adora_criterion"));
  options_.mode = EnumValue(kAdoraModeNames, c.Str("estimator.adora_mode"));
  options_.variant = EnumValue(kAdoraVariantNames, c.Str("estimator.adora_variant"));
  options_.labels = EnumValue(kAdoraLabelsNames, c.Str("estimator.adora_labels"));
  options_.tau = c.Float("estimator.adora_tau");
  options_.lambda = c.Float("estimator.adora_lambda");
  options_.weight = c.Float("estimator.adora_weight");
  const bool fixed = options_.labels == AdoraOptions::Labels::kStatic;
  // Planning refuses static labels off the difficulty criterion (check below).
  ADVLAB_CHECK(!fixed || options_.criterion == AdoraOptions::Criterion::kDifficulty);
  if (context.task == nullptr) {
    ADVLAB_CHECK(!fixed);  // static labels read the oracle
    return;
  }
  const int32_t prompts = context.task->num_prompts();
  last_label_.assign(prompts, -1);
  static_tas_.clear();
  if (!fixed) return;
  // InitRun binds before any step: the policy is pi_0 and the task at step 0.
  ADVLAB_CHECK(context.policy != nullptr);
  static_tas_.resize(prompts);
  for (int32_t p = 0; p < prompts; ++p) {
    const double p0 = context.task->SuccessProbability(context.policy, p);
    static_tas_[p] =
        AdoraStaticTas(options_, p0, context.false_positive, context.false_negative) ? 1 : 0;
  }
}

std::unique_ptr<Modifier> AdoraModifier::Clone() const {
  if (last_label_.empty()) return nullptr;  // unbound: nothing kept across calls
  return std::make_unique<AdoraModifier>(*this);
}

bool AdoraModifier::IsTas(const Batch& batch, int g) const {
  const int b = batch.group_begin[g];
  return AdoraIsTas(options_, batch.reward.data() + b, batch.truncated.data() + b,
                    batch.token_begin.data() + b, batch.group_begin[g + 1] - b);
}

// Whether some of the group's n rollouts are correct and some wrong, by ADORA's
// reading (observed reward > 0.5): the groups whose advantages are not all 0.
static bool IsMixed(const double* reward, int n) {
  int correct = 0;
  for (int i = 0; i < n; ++i) correct += reward[i] > 0.5 ? 1 : 0;
  return correct > 0 && correct < n;
}

void AdoraModifier::Apply(Batch* batch) {
  int64_t tas = 0, mixed = 0, tas_mixed = 0, rejudged = 0, flipped = 0;
  double weight_sum = 0.0;  // group order: a fixed reduction order
  const double* reward = batch->reward.data();
  const uint8_t* truncated = batch->truncated.data();
  const int32_t* token_begin = batch->token_begin.data();
  // gae, remax with a KL reward: token-level advantages are weighted too.
  double* token_adv = batch->token_advantage.empty() ? nullptr : batch->token_advantage.data();
  double* adv = batch->advantage.data();
  const int32_t* prompt = batch->prompt.data();
  const bool fixed = options_.labels == AdoraOptions::Labels::kStatic;
  const uint8_t* static_tas = static_tas_.data();
  const int32_t prompts = static_cast<int32_t>(last_label_.size());
  int8_t* last = last_label_.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int b = batch->group_begin[g];
    const int n = batch->group_begin[g + 1] - b;
    bool is_tas;
    if (fixed) {
      ADVLAB_HD_CHECK(prompt[g] >= 0 && prompt[g] < static_cast<int32_t>(static_tas_.size()));
      is_tas = static_tas[prompt[g]] != 0;
      AdoraScaleGroup(AdoraWeight(options_, is_tas), n, token_begin + b, adv + b, token_adv);
    } else {
      is_tas =
          AdoraGroup(options_, reward + b, truncated + b, token_begin + b, n, adv + b, token_adv);
    }
    AdoraRemember(last, prompts, prompt[g], is_tas, &rejudged, &flipped);
    tas += is_tas ? 1 : 0;
    weight_sum += AdoraWeight(options_, is_tas);
    if (IsMixed(reward + b, n)) {
      mixed += 1;
      tas_mixed += is_tas ? 1 : 0;
    }
  }
  tas_groups_ = tas;
  weight_sum_ = weight_sum;
  mixed_groups_ = mixed;
  tas_mixed_groups_ = tas_mixed;
  judged_groups_ = batch->num_groups();
  rejudged_groups_ = rejudged;
  flipped_groups_ = flipped;
}

void AdoraModifier::AddStats(StepStats* stats) const {
  stats->tas_groups += tas_groups_;
  stats->judged_groups += judged_groups_;
  stats->weight_sum += weight_sum_;
  stats->mixed_groups += mixed_groups_;
  stats->tas_mixed_groups += tas_mixed_groups_;
  stats->rejudged_groups += rejudged_groups_;
  stats->flipped_groups += flipped_groups_;
}

ADVLAB_REGISTER_MODIFIER(
    adora, .name = "adora",
    .description = "ADORA: per-prompt weight from this step's rollouts (TAS/TDS by length and/or "
                   "difficulty; attenuate or amplify), or from labels fixed at initialisation",
    .needs_groups = true,
    .make = [] { return std::make_unique<AdoraModifier>(); },
    .check = [](const Config& c, const Task& task) {
      if (EnumValue(kAdoraLabelsNames, c.Str("estimator.adora_labels")) ==
              AdoraOptions::Labels::kStatic &&
          EnumValue(kAdoraCriterionNames, c.Str("estimator.adora_criterion")) !=
              AdoraOptions::Criterion::kDifficulty) {
        throw UserError("estimator.adora_labels = static fixes each prompt's label from the "
                        "initial policy's exact success rate, which only the difficulty "
                        "criterion reads, but estimator.adora_criterion = " +
                        c.Str("estimator.adora_criterion") +
                        "; allowed: estimator.adora_labels = static with "
                        "estimator.adora_criterion = difficulty, or estimator.adora_labels = "
                        "dynamic");
      }
      if (EnumValue(kAdoraCriterionNames, c.Str("estimator.adora_criterion")) !=
              AdoraOptions::Criterion::kDifficulty &&
          task.max_length() == 1) {
        throw UserError("estimator.name = " + c.Str("estimator.name") +
                        " with estimator.adora_criterion = " + c.Str("estimator.adora_criterion") +
                        " reads response lengths, but env.name = " + c.Str("env.name") +
                        " answers with one token; allowed: estimator.adora_criterion = difficulty, "
                        "or a multi-token task (chain, think)");
      }
    });

}  // namespace advlab
