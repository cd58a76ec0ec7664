// Monte Carlo harness for audits: runs many seeded audits against a label source and summarizes
// decisions and decision times. Shared by the fast suite test and the large benchmark.
#ifndef ASSAY_TESTS_TESTING_AUDIT_MC_H_
#define ASSAY_TESTS_TESTING_AUDIT_MC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "core/audit/audit.h"

namespace assay::testing {

// Draws the label for step t (1-based) given the labels merged so far; may pick among strata
// adaptively (it sees the past, never the future).
using LabelSource =
    std::function<double(int64_t t, const std::vector<double>& past, std::mt19937_64& rng)>;

// i.i.d. Bernoulli(p).
LabelSource Bernoulli(double p);
// Bernoulli(p_before) for the first `switch_after` draws, then Bernoulli(p_after).
LabelSource Switching(double p_before, int64_t switch_after, double p_after);
// An adaptive auditor over strata with the given success probabilities: tries each stratum once,
// then always draws from the stratum whose observed accuracy is lowest (seek_failures) or highest.
LabelSource AdaptiveStrata(std::vector<double> stratum_p, bool seek_failures);

struct McSummary {
  int replications = 0;
  int failure_found = 0, certified = 0, inconclusive = 0;
  double median_failure_time = 0;    // over replications that found a failure (0 if none)
  double median_certified_time = 0;  // over replications that certified (0 if none)
  double failure_rate() const { return double(failure_found) / replications; }
  double certified_rate() const { return double(certified) / replications; }
};

McSummary RunAudits(const audit::AuditConfig& config, const LabelSource& source, int replications,
                    uint64_t seed);

// Configs of the paper's methods at τ = 0.85, α = 0.05, horizon 250.
enum class PaperMethod { kLr, kSrLr, kLrUi, kSrLrUi };
audit::AuditConfig PaperConfig(PaperMethod method, int budget);
const char* PaperMethodName(PaperMethod method);

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_AUDIT_MC_H_
