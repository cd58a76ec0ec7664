// proto ⇄ core conversions (proto/convert/): an empty API message means the core's defaults, the
// filled-in message echoes them, and bad values are refused naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/convert/cat_options.h"
#include "proto/convert/fit_options.h"
#include "tests/testing/status_matchers.h"

namespace assay::convert {
namespace {

using absl_testing::StatusIs;
using ::testing::HasSubstr;

TEST(FitOptionsTest, UnsetFieldsTakeTheCoresDefaultsAndAreFilledIn) {
  v1::FitOptions proto;
  ASSERT_OK_AND_ASSIGN(irt::FitOptions core, FitOptionsFromProto(proto));
  const irt::FitOptions defaults;
  EXPECT_EQ(core.dims, defaults.dims);
  EXPECT_EQ(core.sigma, defaults.sigma);
  EXPECT_EQ(core.ridge, defaults.ridge);
  EXPECT_EQ(core.tol, defaults.tol);
  EXPECT_EQ(core.max_iter, defaults.max_iter);
  EXPECT_EQ(core.seed, defaults.seed);
  EXPECT_EQ(core.method, irt::FitMethod::kAuto);
  EXPECT_EQ(proto.ridge(), defaults.ridge);  // echoed in the stored options
  EXPECT_EQ(proto.max_iter(), defaults.max_iter);
  EXPECT_EQ(core.stop_rule, irt::StopRule::kPrecision);
  EXPECT_EQ(proto.stop_rule(), v1::STOP_RULE_PRECISION);
  EXPECT_EQ(proto.se_tol(), defaults.se_tol);
  v1::FitOptions strict;
  strict.set_stop_rule(v1::STOP_RULE_STRICT);
  ASSERT_OK_AND_ASSIGN(irt::FitOptions s, FitOptionsFromProto(strict));
  EXPECT_EQ(s.stop_rule, irt::StopRule::kStrict);

  v1::FitOptions paper;
  paper.set_paper_mode(true);
  ASSERT_OK_AND_ASSIGN(irt::FitOptions p, FitOptionsFromProto(paper));
  EXPECT_EQ(p.ridge, irt::FitOptions::Paper().ridge);
  EXPECT_EQ(p.tol, irt::FitOptions::Paper().tol);

  for (irt::FitMethod m : {irt::FitMethod::kJoint, irt::FitMethod::kMarginalItems,
                           irt::FitMethod::kMarginalModels, irt::FitMethod::kAuto}) {
    EXPECT_EQ(FitMethodFromProto(FitMethodToProto(m)), m);
  }
  v1::FitOptions bad;
  bad.set_dims(9);
  EXPECT_THAT(FitOptionsFromProto(bad).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.dims")));
  v1::FitOptions wide;
  wide.set_se_tol(1.5);
  EXPECT_THAT(FitOptionsFromProto(wide).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.se_tol")));
  v1::FitOptions rule;
  rule.set_stop_rule(static_cast<v1::StopRule>(7));
  EXPECT_THAT(FitOptionsFromProto(rule).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.stop_rule")));
  v1::FitOptions unknown;
  unknown.set_method(static_cast<v1::FitMethod>(42));
  EXPECT_THAT(FitOptionsFromProto(unknown).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.method")));
}

TEST(CatOptionsTest, UnsetFieldsTakeTheCoresDefaultsAndTheGoalsDesign) {
  cat::Bank bank;
  bank.items.a = Eigen::VectorXd::Ones(20);
  bank.items.b = Eigen::VectorXd::LinSpaced(20, -2, 2);
  absl::flat_hash_map<std::string, int32_t> index;
  for (int j = 0; j < 20; ++j) index["i" + std::to_string(j)] = j;
  v1::CatOptions proto;
  ASSERT_OK_AND_ASSIGN(cat::CatOptions core, CatOptionsFromProto(proto, {}, index, bank));
  const cat::CatOptions defaults;
  EXPECT_EQ(core.selection, cat::DefaultSelection(cat::Goal::kAccuracy));
  EXPECT_EQ(proto.goal(), v1::CAT_GOAL_ACCURACY);
  EXPECT_EQ(core.max_items, defaults.max_items);
  EXPECT_EQ(core.prior_sd, defaults.prior_sd);
  EXPECT_EQ(core.interval_level, defaults.interval_level);
  EXPECT_EQ(core.alpha, defaults.alpha);
  EXPECT_EQ(core.exploration, defaults.exploration);
  EXPECT_EQ(core.locate_items, defaults.locate_items);
  EXPECT_EQ(core.seed, defaults.seed);
  EXPECT_EQ(proto.max_items(), defaults.max_items);

  v1::CatOptions ability;
  ability.set_goal(v1::CAT_GOAL_ABILITY);
  ability.add_excluded_items("i3");
  ASSERT_OK_AND_ASSIGN(cat::CatOptions a, CatOptionsFromProto(ability, {}, index, bank));
  EXPECT_EQ(a.selection, cat::DefaultSelection(cat::Goal::kAbility));
  EXPECT_EQ(a.excluded, std::vector<int32_t>{3});

  v1::CatOptions unknown_item;
  unknown_item.add_excluded_items("nope");
  EXPECT_THAT(CatOptionsFromProto(unknown_item, {}, index, bank).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.excluded_items[0]")));
  v1::CatOptions tags;
  (*tags.mutable_tag_targets())["algebra"] = 1;
  EXPECT_THAT(CatOptionsFromProto(tags, {}, index, bank).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.tag_targets")));
}

}  // namespace
}  // namespace assay::convert
