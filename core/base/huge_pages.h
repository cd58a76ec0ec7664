// Transparent huge pages for large buffers. Filling a fresh buffer of hundreds of MB faults in
// one 4 KiB page at a time; on this project's VM that first touch cost more than parsing the CSV
// that filled it (a 53 MB file: 137 MB/s with 4 KiB pages, 490 MB/s with 2 MiB ones). Kernels
// whose transparent huge pages are in `madvise` mode (Ubuntu's default, and this machine's) give
// huge pages only to memory that asks; these helpers ask.
#ifndef ASSAY_CORE_BASE_HUGE_PAGES_H_
#define ASSAY_CORE_BASE_HUGE_PAGES_H_

#include <cstddef>
#include <vector>

namespace assay {

// A hint (madvise MADV_HUGEPAGE) that [data, data + bytes) be backed by huge pages, for the whole
// 2 MiB pages inside it, when it spans at least 8 MiB. Pages already touched keep their size, so
// call it between allocating and the first write. Never fails: where unsupported, nothing happens.
void AdviseHugePages(const void* data, size_t bytes);

// `v` with room for `n` elements whose memory asked for huge pages: reserve(n) (which allocates
// without touching), then the hint; the size is unchanged. Grow it afterwards (resize, push_back)
// within that capacity.
template <typename T>
void ReserveHugePages(std::vector<T>& v, size_t n) {
  if (v.capacity() >= n) return;
  v.reserve(n);
  AdviseHugePages(v.data(), n * sizeof(T));
}

}  // namespace assay

#endif  // ASSAY_CORE_BASE_HUGE_PAGES_H_
