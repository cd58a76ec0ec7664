#include "core/base/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace assay {

void AdviseHugePages(const void* data, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (data == nullptr || bytes < 4 * kHuge) return;
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t last = (begin + bytes) & ~(kHuge - 1);
  if (last <= first) return;
  // A hint: an error (an old kernel, THP off) leaves the pages as they are.
  char* const start = static_cast<char*>(const_cast<void*>(data)) + (first - begin);
  (void)madvise(start, last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace assay
