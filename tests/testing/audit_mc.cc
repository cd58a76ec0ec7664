#include "tests/testing/audit_mc.h"

#include <algorithm>

namespace assay::testing {

LabelSource Bernoulli(double p) {
  return [p](int64_t, const std::vector<double>&, std::mt19937_64& rng) {
    return std::bernoulli_distribution(p)(rng) ? 1.0 : 0.0;
  };
}

LabelSource Switching(double p_before, int64_t switch_after, double p_after) {
  return [=](int64_t t, const std::vector<double>&, std::mt19937_64& rng) {
    return std::bernoulli_distribution(t <= switch_after ? p_before : p_after)(rng) ? 1.0 : 0.0;
  };
}

LabelSource AdaptiveStrata(std::vector<double> stratum_p, bool seek_failures) {
  // The source keeps per-stratum tallies keyed by the replication's history length: it is called
  // with t = 1, 2, ... in order for each replication, and resets when t == 1.
  struct Tally {
    std::vector<double> successes, draws;
    size_t last = 0;
  };
  auto tally = std::make_shared<Tally>();
  return [stratum_p, seek_failures, tally](int64_t t, const std::vector<double>& past,
                                           std::mt19937_64& rng) {
    Tally& s = *tally;
    const size_t k = stratum_p.size();
    if (t == 1) {
      s.successes.assign(k, 0);
      s.draws.assign(k, 0);
    } else {
      s.successes[s.last] += past.back();  // learn from the label just merged
      s.draws[s.last] += 1;
    }
    size_t pick = 0;
    if (t <= static_cast<int64_t>(k)) {
      pick = static_cast<size_t>(t - 1);
    } else {
      double best = seek_failures ? 2.0 : -1.0;
      for (size_t j = 0; j < k; ++j) {
        const double acc = s.successes[j] / s.draws[j];
        if (seek_failures ? acc < best : acc > best) {
          best = acc;
          pick = j;
        }
      }
    }
    s.last = pick;
    return std::bernoulli_distribution(stratum_p[pick])(rng) ? 1.0 : 0.0;
  };
}

namespace {
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

McSummary RunAudits(const audit::AuditConfig& config, const LabelSource& source, int replications,
                    uint64_t seed) {
  McSummary s;
  s.replications = replications;
  std::vector<double> failure_times, certified_times, past;
  std::mt19937_64 rng(seed);
  for (int r = 0; r < replications; ++r) {
    audit::Audit a = audit::Audit::Create(config).value();
    past.clear();
    for (int64_t t = 1; a.decision() == audit::Decision::kNone; ++t) {
      const double y = source(t, past, rng);
      past.push_back(y);
      const audit::Step step = a.Observe(y).value();
      if (step.decision == audit::Decision::kFailureModeFound) {
        ++s.failure_found;
        failure_times.push_back(static_cast<double>(t));
      } else if (step.decision == audit::Decision::kCertified) {
        ++s.certified;
        certified_times.push_back(static_cast<double>(t));
      } else if (step.decision == audit::Decision::kInconclusive) {
        ++s.inconclusive;
      }
    }
  }
  s.median_failure_time = Median(failure_times);
  s.median_certified_time = Median(certified_times);
  return s;
}

audit::AuditConfig PaperConfig(PaperMethod method, int budget) {
  audit::AuditConfig c;
  c.tau = 0.85;
  c.alpha = 0.05;
  c.max_samples = 250;
  c.budget = budget;
  c.method = (method == PaperMethod::kLr || method == PaperMethod::kLrUi) ? audit::Method::kLr
                                                                          : audit::Method::kSr;
  c.alternative.ewaf = method == PaperMethod::kLrUi || method == PaperMethod::kSrLrUi;
  c.alternative.p_model = 0.82;
  c.alternative.p_auditor = 0.90;
  c.alternative.model_grid = {0.60, 0.655, 0.71, 0.765, 0.82};
  c.alternative.auditor_grid = {0.88, 0.91, 0.94};
  c.alternative.eta = 0.1;
  c.cs_grid = 0;  // the confidence sequence is validated separately; keeps the Monte Carlo fast
  return c;
}

const char* PaperMethodName(PaperMethod method) {
  switch (method) {
    case PaperMethod::kLr:
      return "LR";
    case PaperMethod::kSrLr:
      return "SR-LR";
    case PaperMethod::kLrUi:
      return "LR-UI";
    case PaperMethod::kSrLrUi:
      return "SR-LR-UI";
  }
  return "?";
}

}  // namespace assay::testing
