#include "proto/convert/cat_options.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace assay::convert {

absl::StatusOr<cat::CatOptions> CatOptionsFromProto(
    v1::CatOptions& o, const std::vector<std::string>& tag_names,
    const absl::flat_hash_map<std::string, int32_t>& item_index, const cat::Bank& bank) {
  const auto bad = [](const std::string& field, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("options.", field, ": ", what));
  };
  cat::CatOptions c;  // the core's defaults, for every field left unset
  switch (o.estimator()) {
    case v1::CAT_ESTIMATOR_UNSPECIFIED:
    case v1::CAT_ESTIMATOR_MAP:
      o.set_estimator(v1::CAT_ESTIMATOR_MAP);
      c.estimator = cat::Estimator::kMap;
      break;
    case v1::CAT_ESTIMATOR_EAP:
      c.estimator = cat::Estimator::kEap;
      break;
    default:
      return bad("estimator", absl::StrCat("unknown value ", o.estimator()));
  }
  switch (o.goal()) {
    case v1::CAT_GOAL_UNSPECIFIED:
    case v1::CAT_GOAL_ACCURACY:
      o.set_goal(v1::CAT_GOAL_ACCURACY);
      break;
    case v1::CAT_GOAL_ABILITY:
      break;
    default:
      return bad("goal", absl::StrCat("unknown value ", o.goal()));
  }
  if (o.selection() == v1::CAT_SELECTION_UNSPECIFIED) {
    switch (cat::DefaultSelection(o.goal() == v1::CAT_GOAL_ABILITY ? cat::Goal::kAbility
                                                                   : cat::Goal::kAccuracy)) {
      case cat::Selection::kFisher:
        o.set_selection(v1::CAT_SELECTION_FISHER);
        break;
      case cat::Selection::kAccuracy:
        o.set_selection(v1::CAT_SELECTION_ACCURACY);
        break;
      case cat::Selection::kModelAssisted:
        o.set_selection(v1::CAT_SELECTION_MODEL_ASSISTED);
        break;
    }
  }
  switch (o.selection()) {
    case v1::CAT_SELECTION_FISHER:
      c.selection = cat::Selection::kFisher;
      break;
    case v1::CAT_SELECTION_ACCURACY:
      c.selection = cat::Selection::kAccuracy;
      break;
    case v1::CAT_SELECTION_MODEL_ASSISTED:
      c.selection = cat::Selection::kModelAssisted;
      break;
    default:
      return bad("selection", absl::StrCat("unknown value ", o.selection()));
  }
  if (o.prior_sd() == 0) o.set_prior_sd(c.prior_sd);
  if (o.randomesque() == 0) o.set_randomesque(c.randomesque);
  if (!o.has_locate_items()) o.set_locate_items(c.locate_items);
  if (o.max_items() == 0) o.set_max_items(c.max_items);
  if (o.interval_level() == 0) o.set_interval_level(c.interval_level);
  if (o.alpha() == 0) o.set_alpha(c.alpha);
  if (o.exploration() == 0) o.set_exploration(c.exploration);
  if (o.seed() == 0) o.set_seed(c.seed);
  c.prior_mean = o.prior_mean();
  c.prior_sd = o.prior_sd();
  if (o.has_start_theta()) c.start_theta = o.start_theta();
  c.randomesque = o.randomesque();
  c.locate_items = o.locate_items();
  c.min_items = o.min_items();
  c.max_items = o.max_items();
  c.se_target = o.se_target();
  c.min_information = o.min_information();
  c.interval_level = o.interval_level();
  c.anytime_valid = o.anytime_valid();
  c.alpha = o.alpha();
  c.exploration = o.exploration();
  c.seed = o.seed();
  if (!o.tag_targets().empty()) {
    if (tag_names.empty()) return bad("tag_targets", "the benchmark's items have no tags");
    c.tag_targets.assign(tag_names.size(), 0.0);
    for (const auto& [tag, share] : o.tag_targets()) {
      auto it = std::find(tag_names.begin(), tag_names.end(), tag);
      if (it == tag_names.end()) return bad("tag_targets", "unknown tag '" + tag + "'");
      c.tag_targets[static_cast<size_t>(it - tag_names.begin())] = share;
    }
  }
  for (int i = 0; i < o.excluded_items_size(); ++i) {
    auto it = item_index.find(o.excluded_items(i));
    if (it == item_index.end()) {
      return bad(absl::StrCat("excluded_items[", i, "]"),
                 "unknown item '" + o.excluded_items(i) + "'");
    }
    c.excluded.push_back(it->second);
  }
  if (absl::Status valid = c.Validate(bank); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("options.", valid.message()));
  }
  return c;
}

}  // namespace assay::convert
