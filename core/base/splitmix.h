// SplitMix64's finalizer (Steele, Lea & Flood 2014): a bijection on 64-bit integers that spreads
// consecutive inputs over the whole range. Distinct inputs give distinct outputs.
#ifndef ASSAY_CORE_BASE_SPLITMIX_H_
#define ASSAY_CORE_BASE_SPLITMIX_H_

#include <cstdint>

namespace assay {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace assay

#endif  // ASSAY_CORE_BASE_SPLITMIX_H_
