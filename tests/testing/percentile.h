// The q-quantile of a sample, for benchmarks' latency figures: the value at rank floor(q * n)
// of the sorted sample (0-based, capped at n - 1); 0 for an empty sample. Takes the sample by
// value (it reorders it).
#ifndef ASSAY_TESTS_TESTING_PERCENTILE_H_
#define ASSAY_TESTS_TESTING_PERCENTILE_H_

#include <algorithm>
#include <cstddef>
#include <vector>

namespace assay::testing {

inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace assay::testing

#endif  // ASSAY_TESTS_TESTING_PERCENTILE_H_
