// Issue #5's MATH-500 experiment over many splits and seeds (tests/cat_test.cc runs a fast
// version): MAE of predicted full accuracy after 10/20/50/100 items for max-information CAT, the
// model-assisted design, random items with the IRT prediction, and the plain mean of random items.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>

#include "tests/testing/cat_math500.h"

int main(int argc, char** argv) {
  int splits = 5, reps = 40;
  std::string method = "eap";
  CLI::App app{"cat_math500_bench"};
  app.add_option("--splits", splits, "random 100/40 splits (seeds 2026, 1, 2, ...)");
  app.add_option("--reps", reps, "model-assisted seeds per held-out row");
  int64_t first_seed = -1;
  app.add_option("--first-seed", first_seed,
                 "split seeds first-seed, first-seed + 1, ... (default: 2026, 1, 2, ...)");
  app.add_option("--method", method)->check(CLI::IsMember({"map", "eap"}));
  assay::irt::FitOptions fit;
  app.add_flag("--shrink-items", fit.shrink_items, "calibrate with item shrinkage");
  int loo_items = 0;
  app.add_option("--loo-items", loo_items,
                 "instead: hold out every row in turn (the demo's test), sessions of this many "
                 "items, default goal (accuracy) and goal ability; MAE and interval coverage");
  CLI11_PARSE(app, argc, argv);
  if (loo_items > 0) {
    const Eigen::MatrixXf all = assay::testing::Math500();
    for (const bool ability : {false, true}) {
      assay::cat::CatOptions o;  // the server's defaults, as the demo's session gets them
      o.max_items = loo_items;
      o.estimator = method == "eap" ? assay::cat::Estimator::kEap : assay::cat::Estimator::kMap;
      o.selection = assay::cat::DefaultSelection(ability ? assay::cat::Goal::kAbility
                                                         : assay::cat::Goal::kAccuracy);
      const assay::testing::Math500LooFigures f = assay::testing::Math500LeaveOneOut(all, o);
      std::printf("goal %s, %d items, %s: %d rows held out, MAE %.2f points, 95%% interval "
                  "coverage %.3f\n",
                  ability ? "ability" : "accuracy", loo_items, method.c_str(), f.rows,
                  100 * f.mae, f.coverage);
    }
    return 0;
  }
  const auto estimator =
      method == "eap" ? assay::cat::Estimator::kEap : assay::cat::Estimator::kMap;
  const Eigen::MatrixXf y = assay::testing::Math500();
  std::printf("split,items,cat,model_assisted,model_assisted_coverage,random_irt,sample_mean\n");
  const int ks[] = {10, 20, 50, 100};
  assay::testing::Math500Curve mean[4];
  for (int s = 0; s < splits; ++s) {
    const uint64_t seed = first_seed >= 0 ? static_cast<uint64_t>(first_seed + s)
                                          : assay::testing::Math500SplitSeed(s);
    const assay::testing::Math500Split split = assay::testing::SplitMath500(y, seed, fit);
    for (int i = 0; i < 4; ++i) {
      const assay::testing::Math500Curve c =
          assay::testing::Math500Experiment(y, split, ks[i], 7, reps, estimator);
      std::printf("%llu,%d,%.2f,%.2f,%.3f,%.2f,%.2f\n", static_cast<unsigned long long>(seed),
                  ks[i], c.cat, c.assisted, c.assisted_coverage, c.random_irt, c.sample_mean);
      mean[i].cat += c.cat / splits;
      mean[i].assisted += c.assisted / splits;
      mean[i].assisted_coverage += c.assisted_coverage / splits;
      mean[i].random_irt += c.random_irt / splits;
      mean[i].sample_mean += c.sample_mean / splits;
    }
  }
  for (int i = 0; i < 4; ++i) {
    std::printf("mean,%d,%.2f,%.2f,%.3f,%.2f,%.2f\n", ks[i], mean[i].cat, mean[i].assisted,
                mean[i].assisted_coverage, mean[i].random_irt, mean[i].sample_mean);
  }
}
